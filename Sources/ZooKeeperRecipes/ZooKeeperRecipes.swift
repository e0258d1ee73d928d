// The recipes that Curator and kazoo users rely on, over `ZooKeeperClient`, in Curator's node layouts so that
// Swift, Java and Python processes take part in the same lock, election or cache:
//
// - data: watched value (NodeCache), tree cache (CuratorCache), shared counter (SharedCount), barrier and double
//   barrier, distributed queue;
// - coordination: lock (InterProcessMutex), read-write lock, semaphore (InterProcessSemaphoreV2), leader latch
//   and leader selector.
//
// Each recipe's decisions are a pure state machine beside it (what to create, which node to watch, whether we
// hold the lock), driven by a thin async shell that does the client calls.
@_exported import ZooKeeperClient
