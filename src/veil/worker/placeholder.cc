// The worker layer (SPEC §5): Redis client, Celery codec, queue, leases, heartbeats.
namespace veil::worker {}
