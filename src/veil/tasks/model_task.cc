#include "veil/tasks/model_task.h"

#include <algorithm>

#include "veil/data/columns.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks::model_task {

void ReadTrainFields(ConfigReader& r, const std::vector<std::string>& parties, TrainFields* c) {
  Problems& problems = *r.problems();
  c->train_data = vertical::ReadPartyPaths(r, "train_data", parties, /*exact=*/true);
  c->features = r.StringList("features", Required::kYes).value_or(std::vector<std::string>{});
  c->label = r.String("label", Required::kYes).value_or("");
  c->label_party = r.String("label_party", Required::kYes).value_or("");
  if (!c->label_party.empty() &&
      std::find(parties.begin(), parties.end(), c->label_party) == parties.end()) {
    problems.Add(r.PathOf("label_party"), "unknown_party",
                 "'" + c->label_party + "' is not a party of sf_init_config");
  }
  if (!c->label.empty() &&
      std::find(c->features.begin(), c->features.end(), c->label) != c->features.end()) {
    problems.Add(r.PathOf("label"), "invalid_value",
                 "the label '" + c->label + "' is also listed as a feature");
  }
  c->model_output = vertical::ReadPartyPaths(r, "model_output", parties, /*exact=*/true);
}

void ReadPredictFields(ConfigReader& r, const std::vector<std::string>& parties, PredictFields* c) {
  Problems& problems = *r.problems();
  c->model_path = vertical::ReadPartyPaths(r, "model_path", parties, /*exact=*/true);
  c->predict_data = vertical::ReadPartyPaths(r, "predict_data", parties, /*exact=*/true);
  c->output_path = vertical::ReadPartyPaths(r, "output_path", parties, /*exact=*/false);
  c->receiver = r.String("receiver_party", Required::kNo);
  if (!c->receiver) return;
  if (std::find(parties.begin(), parties.end(), *c->receiver) == parties.end()) {
    problems.Add(r.PathOf("receiver_party"), "unknown_party",
                 "'" + *c->receiver + "' is not a party of sf_init_config");
  } else if (r.Has("output_path") && !c->output_path.count(*c->receiver)) {
    problems.Add(r.PathOf("output_path"), "missing_receiver",
                 "output_path has no path for the receiver '" + *c->receiver + "'");
  }
}

Status WritePredictions(link::Context& ctx, size_t receiver_rank, const std::string& tag,
                        const std::string& path, const double* scores, int64_t count) {
  StatusOr<nlohmann::json> outcome = nlohmann::json::object();
  if (ctx.rank() == receiver_rank) {
    std::string text = "probability,prediction\n";
    for (int64_t i = 0; i < count; ++i) {
      text += data::FormatDouble(scores[i]);
      text += scores[i] >= 0.5 ? ",1\n" : ",0\n";
    }
    if (Status w = vertical::WriteFileAtomically(path, text); !w.ok()) outcome = w;
  }
  return vertical::ShareOutcome(ctx, receiver_rank, tag, outcome).status();
}

}  // namespace veil::tasks::model_task
