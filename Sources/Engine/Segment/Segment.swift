import StreamKitLogFiles

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One segment's write side and index: its head, its reservations, and a sparse index from sequences to
/// log positions. Created on a segment's first produce (or at open for segments the log holds).
///
/// The compare-and-append check lives here. Actors are re-entrant at `await`, so a commit **reserves** its
/// sequences before it awaits the log: a racing producer sees the reservation and gets a conflict naming
/// the expected sequence. If the append fails the reservation is released; the storage is fail-stop, so no
/// later reservation can have committed on top of it.
///
/// Over a log shared with other processes, the reservation is this process's view only: the log decides
/// compare-and-append again and answers ``SegmentHeadConflict`` with its head, which becomes the reservation
/// (when no later one was made); commits of other writers reach the segment through ``observe(_:)``.
actor Segment {
    /// A stretch of the segment's sequences and where its entries are in the log.
    struct IndexRun: Sendable {
        var firstSequence: UInt64
        var count: UInt32
        /// Exact runs: the position of `firstSequence`, the rest follow without gaps. Block runs: the first
        /// position of the block holding the run, whose entries interleave with other segments'.
        var startPosition: UInt64
        var exact: Bool

        var lastSequence: UInt64 { firstSequence + UInt64(count) - 1 }

        /// Whether every entry of the run is before `position`, a block boundary (a block run's entries all lie
        /// in the block that starts at `startPosition`).
        func lies(before position: UInt64) -> Bool {
            exact ? startPosition + UInt64(count) <= position : startPosition < position
        }
    }

    struct Head: Sendable {
        var firstSequence: UInt64 = 0
        var firstTimestamp: Int64 = 0
        var lastSequence: UInt64 = 0
        var lastTimestamp: Int64 = 0
        var lastTransactionNumber: UInt64 = 0
    }

    let key: SegmentKey
    private(set) var head: Head
    private var reservedSequence: UInt64
    private var reservedTransaction: UInt64
    /// Bumped when an append of the current chain of reservations is refused by a shared log: the reservations
    /// made after it follow a sequence nobody wrote, so their refusals must not move the reservation again (it
    /// already follows the log's head, and newer reservations may follow it).
    private var reservationEpoch: UInt64 = 0
    private var index: [IndexRun]
    /// Sequences below this were deleted, and positions below ``positionFloor`` dropped by retention: a
    /// transaction the follow loop delivers late (after its entries went) must not bring them back.
    private var sequenceFloor: UInt64 = 0
    private var positionFloor: UInt64 = 0

    init(key: SegmentKey, head: Head = Head(), index: [IndexRun] = []) {
        self.key = key
        self.head = head
        self.reservedSequence = head.lastSequence
        self.reservedTransaction = head.lastTransactionNumber
        self.index = index
    }

    /// Reserves and commits a transaction of `records` (already validated: non-empty, contiguous).
    /// - Throws: `sequenceConflict` when the first sequence is not the reserved last + 1 (or, over a shared
    ///   log, not the log's last + 1); storage errors.
    func commit(_ records: [Record], storage: any StoreStorage) async throws -> (CommittedTransaction, UUID, UInt64) {
        let first = records[0].sequence
        guard first == reservedSequence + 1 else {
            throw StreamKitError.sequenceConflict(
                expected: reservedSequence + 1, got: first, space: key.space, segment: key.segment)
        }
        do {
            return try await append(records, storage: storage)
        } catch let conflict as SegmentHeadConflict {
            throw StreamKitError.sequenceConflict(
                expected: conflict.lastSequence + 1, got: first, space: key.space, segment: key.segment)
        }
    }

    /// Appends one record at the next sequence. Within one process no conflict is possible; over a shared log a
    /// sequence taken by another writer is retried on the log's new head (up to `attempts` times, then
    /// `storeUnavailable`: the segment is too contended to publish to right now).
    func publish(
        payload: [UInt8], metadata: [String: String], attempts: Int, storage: any StoreStorage
    ) async throws
        -> (CommittedTransaction, UUID, UInt64, Record)
    {
        for _ in 0..<max(1, attempts) {
            let record = Record(sequence: reservedSequence + 1, payload: payload, metadata: metadata)
            do {
                let (committed, id, number) = try await append([record], storage: storage)
                return (committed, id, number, record)
            } catch is SegmentHeadConflict {
                continue  // the reservation now follows the log's head
            }
        }
        throw StreamKitError(
            code: .storeUnavailable,
            message:
                "publish to \(key.space)/\(key.segment) lost the race for the next sequence \(max(1, attempts)) times")
    }

    /// Records a transaction another writer committed to the shared log: the index, the head and the reservation
    /// (never lowered). A transaction already recorded (this process's own, seen again) changes nothing.
    func observe(_ transaction: FollowedTransaction) {
        let records = transaction.records
        guard let firstRecord = records.first, let lastRecord = records.last else { return }
        // Sequences and positions rise through a transaction: skip what deletion or retention took since.
        let first = transaction.committed.firstPosition
        let kept = records.firstIndex { $0.sequence >= sequenceFloor } ?? records.count
        let skipped = max(kept, Int(min(positionFloor &- min(positionFloor, first), UInt64(records.count))))
        if skipped < records.count {
            record(
                IndexRun(
                    firstSequence: records[skipped].sequence, count: UInt32(records.count - skipped),
                    startPosition: first + UInt64(skipped), exact: true))
        }
        advanceHead(
            first: firstRecord.sequence, last: lastRecord.sequence, committed: transaction.committed,
            number: transaction.transactionNumber)
        reservedSequence = max(reservedSequence, lastRecord.sequence)
        reservedTransaction = max(reservedTransaction, transaction.transactionNumber)
    }

    /// Appends `records` at the reserved sequences. Throws ``SegmentHeadConflict`` (a shared log's own check
    /// failed; the reservation then follows the log's head) or `StreamKitError`.
    private func append(
        _ records: [Record], storage: any StoreStorage
    ) async throws -> (CommittedTransaction, UUID, UInt64) {
        let previousSequence = reservedSequence
        let previousTransaction = reservedTransaction
        let number = reservedTransaction + 1
        let epoch = reservationEpoch
        reservedSequence = records[records.count - 1].sequence
        reservedTransaction = number
        let id = TransactionIDSource.next()
        let committed: CommittedTransaction
        do {
            committed = try await storage.append(
                TransactionInput(
                    space: key.space, segment: key.segment, transactionID: id, transactionNumber: number,
                    records: records))
        } catch let conflict as SegmentHeadConflict {
            // The shared log's head is the truth. The first refusal of a chain of reservations moves the
            // reservation there (or to a later head this segment already knows); the chain's later reservations
            // follow this refused one and are refused in turn, and must not move it back while retries that
            // follow the new head are in flight.
            if epoch == reservationEpoch {
                reservationEpoch &+= 1
                reservedSequence = max(conflict.lastSequence, head.lastSequence)
                reservedTransaction = max(conflict.lastTransactionNumber, head.lastTransactionNumber)
            }
            throw conflict
        } catch {
            // Fail-stop storage: nothing reserved after us can have committed either.
            if reservedTransaction == number {
                reservedSequence = previousSequence
                reservedTransaction = previousTransaction
            }
            throw StreamKitError.storage(error)
        }
        record(
            IndexRun(
                firstSequence: records[0].sequence, count: UInt32(records.count),
                startPosition: committed.firstPosition, exact: true))
        advanceHead(
            first: records[0].sequence, last: records[records.count - 1].sequence, committed: committed, number: number)
        return (committed, id, number)
    }

    private func advanceHead(first: UInt64, last: UInt64, committed: CommittedTransaction, number: UInt64) {
        if head.firstSequence == 0 || first < head.firstSequence {
            head.firstSequence = first
            head.firstTimestamp = committed.firstTimestamp
        }
        if last > head.lastSequence {
            head.lastSequence = last
            head.lastTimestamp = committed.lastTimestamp
            head.lastTransactionNumber = number
        }
    }

    /// Adds a committed run to the index in sequence order, merging it into the previous run when both the
    /// sequences and the positions continue. A run whose first sequence is already indexed is not added again
    /// (over a shared log, the follower may report this process's own commit before or after the append does).
    private func record(_ run: IndexRun) {
        let covering = index.partitioningIndex { $0.lastSequence >= run.firstSequence }
        if covering < index.count, index[covering].firstSequence <= run.firstSequence { return }
        if let last = index.last, last.lastSequence < run.firstSequence {
            if last.exact && run.exact && last.lastSequence + 1 == run.firstSequence
                && last.startPosition + UInt64(last.count) == run.startPosition
                && UInt64(last.count) + UInt64(run.count) <= UInt64(UInt32.max)
            {
                index[index.count - 1].count += run.count
            } else {
                index.append(run)
            }
            return
        }
        // Completed out of order (two transactions of this segment in flight): insert in place.
        index.insert(run, at: index.partitioningIndex { $0.firstSequence >= run.firstSequence })
    }

    /// The index runs that hold sequences from `sequence` on, up to about `maxEntries` entries.
    func runs(from sequence: UInt64, maxEntries: Int) -> [IndexRun] {
        var out: [IndexRun] = []
        var total = 0
        var i = index.partitioningIndex { $0.lastSequence >= sequence }
        while i < index.count && total < maxEntries {
            out.append(index[i])
            total += Int(index[i].count)
            i += 1
        }
        return out
    }

    /// Entries the index holds after sequence `sequence`.
    func entryCount(afterSequence sequence: UInt64) -> Int {
        var count = 0
        for run in index where run.lastSequence > sequence {
            count += Int(run.lastSequence - max(sequence, run.firstSequence - 1))
        }
        return count
    }

    /// Entries the index holds at positions after `position` in exact runs, plus every entry of block runs whose
    /// block starts after `blockStart` (a caller counts the entries of the block holding `position` itself).
    func entryCount(afterPosition position: UInt64, blocksAfter blockStart: UInt64) -> Int {
        var count = 0
        for run in index {
            if run.exact {
                let last = run.startPosition + UInt64(run.count) - 1
                if last > position { count += Int(last - max(position, run.startPosition - 1)) }
            } else if run.startPosition > blockStart {
                count += Int(run.count)
            }
        }
        return count
    }

    /// Whether the index still locates entries before `position` (the log's start moved past them).
    func indexStarts(before position: UInt64) -> Bool { index.first.map { $0.startPosition < position } ?? false }

    /// The first sequence the index locates: the segment's first entry left in the log (nil when none is).
    var firstIndexedSequence: UInt64? { index.first?.firstSequence }

    /// The segment's head when none of its entries is at or after `position` (a block boundary) but it has had
    /// entries; nil when some entry is left there, or it never had one.
    func headIfRetired(before position: UInt64) -> Head? {
        guard head.lastSequence > 0, index.allSatisfy({ $0.lies(before: position) }) else { return nil }
        return head
    }

    /// The segment's head when it has had entries but none is left in the index (all deleted or dropped).
    var headIfEmpty: Head? { head.lastSequence > 0 && index.isEmpty ? head : nil }

    /// Forgets where the entries before `position` (a block boundary: retention dropped what is before it)
    /// were; returns the first sequence left, nil when none is.
    func dropIndex(before position: UInt64) -> UInt64? {
        positionFloor = max(positionFloor, position)
        var kept: [IndexRun] = []
        kept.reserveCapacity(index.count)
        for var run in index where !run.lies(before: position) {
            if run.exact, run.startPosition < position {  // A transaction that straddles the start keeps its tail.
                let cut = position - run.startPosition
                run.firstSequence += cut
                run.startPosition = position
                run.count -= UInt32(cut)
            }
            kept.append(run)
        }
        index = kept
        return index.first?.firstSequence
    }

    /// What deleting the segment's entries below `before` covers: the bound clamped to one past the last
    /// committed sequence (entries not committed yet are never deleted, and producing goes on after the
    /// deleted ones), how many indexed entries lie below it, and the last index run holding one of them (where
    /// the deletion ends in the log); nil when no indexed entry lies below it.
    func deletion(before: UInt64) -> (before: UInt64, count: Int, lastRun: IndexRun)? {
        let bound = min(before, head.lastSequence + 1)
        var count = 0
        var lastRun: IndexRun?
        for run in index {
            guard run.firstSequence < bound else { break }
            count += Int(min(run.lastSequence, bound - 1) - run.firstSequence + 1)
            lastRun = run
        }
        return lastRun.map { (bound, count, $0) }
    }

    /// Forgets where the entries with sequences below `before` are (they were deleted); returns the first
    /// sequence left, nil when none is.
    func dropIndex(beforeSequence before: UInt64) -> UInt64? {
        sequenceFloor = max(sequenceFloor, before)
        index = Self.index(index, droppingBefore: before)
        return index.first?.firstSequence
    }

    /// `index` without the sequences below `before` (a run that straddles it keeps its tail).
    static func index(_ index: [IndexRun], droppingBefore before: UInt64) -> [IndexRun] {
        var kept: [IndexRun] = []
        kept.reserveCapacity(index.count)
        for var run in index where run.lastSequence >= before {
            if run.firstSequence < before {
                let cut = before - run.firstSequence
                run.firstSequence = before
                run.count -= UInt32(cut)
                if run.exact { run.startPosition += cut }
            }
            kept.append(run)
        }
        return kept
    }

    /// The next sequence a producer must use.
    var nextSequence: UInt64 { reservedSequence + 1 }

    /// Bytes this segment's index uses, roughly.
    var indexBytes: Int { index.capacity * MemoryLayout<IndexRun>.stride }
}
