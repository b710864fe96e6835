/// Decodes every other block of a sequential read on a thread of its own while the reader decodes the ones
/// between and hands out the entries of both: on two cores each decodes half of the blocks, and neither waits
/// for the other while both keep pace. (A thread decoding every block ahead would only move the work: the
/// reader, with nothing left but handing out entries, would wait for it.)
///
/// The blocks are `jobs`, in the order the reader takes them. Ownership, under one lock (`State`):
/// - the thread's jobs are the odd ones; job `k` is the thread's once it is in `slots` (**decoding**, then
///   **ready** with its entries or error) and the reader's (**yours**) when the reader reaches it first. Past
///   jobs (`k < taken`) are never claimed, so each job is decoded once, by one of them.
/// - The thread claims its next job only while fewer than `depth` of its jobs are decoding or ready, so a reader
///   holds at most `depth` decoded blocks beside the one it hands out.
/// - The reader takes jobs in order (it may skip some): one in `slots` when it is ready (waiting while it is
///   decoding, but no longer than ``patienceNanoseconds``: then it drops the slot and decodes the block itself),
///   any other by decoding it itself.
/// - ``stop()`` makes the thread exit after the job it is decoding and waits for that: no thread outlives the
///   read that started it.
final class BlockReadAhead: @unchecked Sendable {
    /// A block to decode: where it is and how to check it.
    struct Job {
        /// The reader's piece this block is (increasing with `k`).
        var piece: Int
        var header: BlockHeader
        var file: any StorageFile
        var offset: Int64
    }

    /// What the reader gets for a job.
    enum Take {
        /// The thread decoded the block: its entries, or the error reading it threw.
        case decoded(Result<[Entry], any Error>)
        /// Nobody decoded it: the reader does, itself.
        case yours
    }

    private enum Slot {
        case decoding
        case ready(Result<[Entry], any Error>)
    }

    private struct State {
        /// The first job the reader has not taken.
        var taken = 0
        /// The next job the thread may claim (odd).
        var threadNext = 1
        var slots: [Int: Slot] = [:]
        var stopping = false
        var running = true
        /// The thread waits for room (its jobs within reach are decoding or ready).
        var idle = false
    }

    /// How long the reader waits for a block the thread is decoding before it decodes the block itself.
    static let patienceNanoseconds: Int64 = 300_000

    private let jobs: [Job]
    private let depth: Int
    private let lock = ConditionLock()
    /// Touched only inside `lock.withLock`.
    private var state = State()

    private init(jobs: [Job], depth: Int) {
        self.jobs = jobs
        self.depth = max(1, depth)
    }

    /// Starts a thread decoding `jobs` ahead of the reader, at most `depth` at a time; nil when there is nothing
    /// to read ahead or no thread could be started (the reader then decodes every block itself).
    static func start(jobs: [Job], depth: Int) -> BlockReadAhead? {
        guard !jobs.isEmpty else { return nil }
        let readAhead = BlockReadAhead(jobs: jobs, depth: depth)
        guard startThread(name: "sk-read-ahead", { readAhead.run() }) == 0 else { return nil }
        return readAhead
    }

    /// The job that is reader piece `piece`, if any.
    func job(ofPiece piece: Int) -> Int? {
        let k = jobs.partitioningIndex { $0.piece >= piece }
        return k < jobs.count && jobs[k].piece == piece ? k : nil
    }

    /// Job `k` for the reader, which has passed every job before it.
    func take(_ k: Int) -> Take {
        var waitingSince: Int64?
        return lock.withLock {
            state.taken = max(state.taken, k + 1)
            // Jobs the reader skipped are dropped (one still decoding is dropped when it is done).
            for skipped in state.slots.keys where skipped < k { state.slots[skipped] = nil }
            // Room (or the end) for the thread: it is no longer idle from the moment it is told.
            state.idle = false
            lock.signal(.readAheadWork)
            while true {
                switch state.slots[k] {
                case nil:
                    return .yours
                case .ready(let result):
                    state.slots[k] = nil
                    return .decoded(result)
                case .decoding:
                    guard state.running else { return .yours }
                    // A block takes tens of microseconds to decode: a thread still at it after the patience
                    // was most likely descheduled (another process has the core). Decoding it here is cheaper
                    // than waiting for the scheduler; the thread's result is dropped when it comes.
                    if let since = waitingSince, monotonicNanoseconds() - since > Self.patienceNanoseconds {
                        state.slots[k] = nil
                        return .yours
                    }
                    if waitingSince == nil { waitingSince = monotonicNanoseconds() }
                    lock.wait(.readAheadReady, nanoseconds: Self.patienceNanoseconds)
                }
            }
        }
    }

    /// The thread's jobs decoding or ready (at most `depth` once it waits).
    var aheadOfReader: Int { lock.withLock { state.slots.count } }

    /// Waits until the thread has decoded as far ahead as it may (or exited): for tests that need to know who
    /// decoded a block.
    func settle() {
        lock.withLock {
            while state.running && !state.idle { lock.wait(.readAheadReady) }
        }
    }

    /// Stops the thread and waits until it has exited; decoded blocks not taken are dropped.
    func stop() {
        lock.withLock {
            state.stopping = true
            lock.signal(.readAheadWork)
            while state.running { lock.wait(.readAheadReady) }
            state.slots.removeAll()
        }
    }

    private func run() {
        let buffers = BlockReading.Buffers()
        while let k = nextJob() {
            let job = jobs[k]
            let result = Result {
                try BlockReading.read(job.header, file: job.file, offset: job.offset, buffers: buffers)
            }
            lock.withLock {
                // A job the reader skipped meanwhile has no slot any more: its result goes.
                if case .decoding = state.slots[k] { state.slots[k] = .ready(result) }
                lock.signal(.readAheadReady)
            }
        }
    }

    /// The next job the thread may decode, waiting for room; nil once stopped or past the last job.
    private func nextJob() -> Int? {
        lock.withLock {
            while true {
                // Jobs the reader passed are its own.
                while state.threadNext < state.taken { state.threadNext += 2 }
                if state.stopping || state.threadNext >= jobs.count {
                    state.running = false
                    lock.broadcast(.readAheadReady)
                    return nil
                }
                if state.slots.count < depth {
                    let k = state.threadNext
                    state.threadNext += 2
                    state.slots[k] = .decoding
                    return k
                }
                state.idle = true
                lock.broadcast(.readAheadReady)
                lock.wait(.readAheadWork)
                state.idle = false
            }
        }
    }
}
