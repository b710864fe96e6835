import Dispatch

/// A task executor for work that blocks its thread (opening a file store reads and checks its log and
/// WAL synchronously), so that it runs on Dispatch threads instead of the cooperative pool.
///
/// On a 2-core machine the pool has 2 threads: two stores recovering at once would otherwise stall every
/// other store's calls until they finish.
final class BlockingIOExecutor: TaskExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
