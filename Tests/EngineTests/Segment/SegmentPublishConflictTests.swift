import StreamKitLogFiles
import Synchronization
import Testing

@testable import StreamKitEngine

/// Publishes to a segment another writer of a shared log moved: the reservation must follow the log's head once,
/// whatever order the refused appends of one group come back in (found by the PostgreSQL multi-node test under a
/// loaded machine: with four publishes refused together, the first to resume re-reserved past the others and none
/// of them moved the reservation back, so every retry was refused until the publish gave up).
struct SegmentPublishConflictTests {
    @Test func publishesRefusedTogetherRetryOnTheLogsHeadAndAllCommit() async throws {
        // Another writer took sequences 1 and 2; the segment does not know. Four publishes reserve 1…4 and are
        // refused as one group, as PostgresStorage refuses a group whose chain does not follow the segment's row.
        let storage = GroupedConflictStorage(head: 2, participants: 4)
        let segment = Segment(key: SegmentKey(space: "s", segment: "g"))

        let sequences = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for n in 0..<4 {
                group.addTask {
                    defer { storage.leave() }
                    let (_, _, _, record) = try await segment.publish(
                        payload: [UInt8(n)], metadata: [:], attempts: 10, storage: storage)
                    return record.sequence
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }

        #expect(sequences.sorted() == [3, 4, 5, 6])
        #expect(storage.headSequence == 6)
        #expect(storage.groupsAnswered == 2, "one refused group, then one that commits")
    }
}

/// A shared log in miniature: appends wait until every live participant has one queued, then the group is
/// decided at once — committed when its chain follows the segment's head, else refused with the head
/// (``SegmentHeadConflict``) — and the answers go back in queue order. Only appends are meaningful.
private final class GroupedConflictStorage: StoreStorage {
    private struct Waiting {
        var transaction: TransactionInput
        var continuation: CheckedContinuation<CommittedTransaction, any Error>
    }

    private struct State {
        var head: UInt64
        var headTransaction: UInt64
        var participants: Int
        var queue: [Waiting] = []
        var nextPosition: UInt64 = 1
        var groupsAnswered = 0
    }

    private let state: Mutex<State>

    init(head: UInt64, participants: Int) {
        state = Mutex(State(head: head, headTransaction: head, participants: participants))
    }

    var headSequence: UInt64 { state.withLock { $0.head } }
    var groupsAnswered: Int { state.withLock { $0.groupsAnswered } }

    /// A participant is done (its publish returned or threw): groups no longer wait for it.
    func leave() {
        let answers = state.withLock { state in
            state.participants -= 1
            return Self.takeGroup(&state)
        }
        Self.deliver(answers)
    }

    nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        try await withCheckedThrowingContinuation { continuation in
            let answers = state.withLock { state in
                state.queue.append(Waiting(transaction: transaction, continuation: continuation))
                return Self.takeGroup(&state)
            }
            Self.deliver(answers)
        }
    }

    private typealias Answer = (
        CheckedContinuation<CommittedTransaction, any Error>, Result<CommittedTransaction, any Error>
    )

    private static func takeGroup(_ state: inout State) -> [Answer] {
        guard !state.queue.isEmpty, state.queue.count >= state.participants else { return [] }
        let group = state.queue
        state.queue.removeAll()
        state.groupsAnswered += 1
        guard let first = group.first?.transaction.records.first, first.sequence == state.head + 1 else {
            let conflict = SegmentHeadConflict(lastSequence: state.head, lastTransactionNumber: state.headTransaction)
            return group.map { ($0.continuation, .failure(conflict)) }
        }
        return group.map { waiting in
            let records = waiting.transaction.records
            state.head = records[records.count - 1].sequence
            state.headTransaction = waiting.transaction.transactionNumber
            let committed = CommittedTransaction(
                firstPosition: state.nextPosition, count: records.count, firstTimestamp: Int64(state.nextPosition))
            state.nextPosition += UInt64(records.count)
            return (waiting.continuation, .success(committed))
        }
    }

    /// Answers from a task of its own, as a database storage's commit loop does: the appenders resume in queue
    /// order, none of them inline.
    private static func deliver(_ answers: [Answer]) {
        guard !answers.isEmpty else { return }
        Task { for (continuation, result) in answers { continuation.resume(with: result) } }
    }

    func blockIndex(containing position: UInt64) -> Int? { nil }
    func block(at index: Int) -> LogBlock? { nil }
    func readBlock(at index: Int) throws -> [Entry] { [] }
    func takeSealedBlocks() -> [SealedBlock] { [] }
    func flush() async throws {}
    func close() async {}
}
