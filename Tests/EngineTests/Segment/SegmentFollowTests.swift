import Foundation
import StreamKitLogFiles
import Testing

@testable import StreamKitEngine

/// A transaction the follow loop delivers late — after deletion or retention took its entries — must not bring
/// them back into the segment's index (found by the PostgreSQL run of the per-segment bound test: a second
/// truncation counted the deleted entries again).
struct SegmentFollowTests {
    private static func transaction(_ sequences: ClosedRange<UInt64>, at position: UInt64) -> FollowedTransaction {
        FollowedTransaction(
            space: "s", segment: "g", transactionID: UUID(), transactionNumber: 1,
            records: sequences.map { Record(sequence: $0, payload: [1]) },
            committed: CommittedTransaction(firstPosition: position, count: sequences.count, firstTimestamp: 1))
    }

    @Test func aTransactionFollowedAfterADeletionDoesNotBringTheDeletedEntriesBack() async {
        let segment = Segment(key: SegmentKey(space: "s", segment: "g"))
        let delivered = Self.transaction(1...10, at: 1)
        await segment.observe(delivered)

        _ = await segment.dropIndex(beforeSequence: 7)
        await segment.observe(delivered)  // Again, late.
        let plan = await segment.deletion(before: 8)
        let first = await segment.firstIndexedSequence

        #expect(plan?.count == 1)
        #expect(first == 7)
    }

    @Test func aTransactionFollowedAfterRetentionDroppedItsPositionsIndexesOnlyWhatIsLeft() async {
        let segment = Segment(key: SegmentKey(space: "s", segment: "g"))
        let delivered = Self.transaction(1...10, at: 101)
        await segment.observe(delivered)

        _ = await segment.dropIndex(before: 105)
        await segment.observe(delivered)
        let plan = await segment.deletion(before: 11)
        let first = await segment.firstIndexedSequence

        #expect(plan?.count == 6)
        #expect(first == 5)
    }
}
