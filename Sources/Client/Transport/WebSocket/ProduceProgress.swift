import StreamKitEngine
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a produce stream has sent and what the server has acknowledged, so that a produce the server *finished*
/// before acknowledging every record is not taken for a success.
///
/// A server finishes a produce stream after the client's `produceEnd`, once every record is committed and
/// acknowledged. A server being shut down can end the stream early without an error (its upload task is cancelled
/// and takes that for the end of the upload); the records after the last acknowledgement may or may not be
/// committed then, which is the retryable `storeUnavailable` of an interrupted produce. Found by the chaos test.
/// A `Mutex` guards it: the upload task writes what it sends, the consumer what is acknowledged.
final class ProduceProgress: Sendable {
    private struct State {
        var lastSent: UInt64?
        var sentEnd = false
        var lastAcknowledged: UInt64?
    }

    private let state = Mutex(State())

    /// Called before a batch of records is sent.
    func sending(_ batch: [Record]) {
        guard let last = batch.last?.sequence else { return }
        state.withLock { $0.lastSent = last }
    }

    /// Called before `produceEnd` is sent: nothing follows.
    func sendingEnd() {
        state.withLock { $0.sentEnd = true }
    }

    /// Called for every status the server sends.
    func acknowledged(_ status: SegmentStatus) {
        state.withLock { $0.lastAcknowledged = status.lastSequence }
    }

    /// The server finished the stream: fine when the whole upload was sent and its last record acknowledged.
    ///
    /// - Throws: `storeUnavailable` (retryable) otherwise.
    func checkFinished(store: UUID) throws {
        let progress = state.withLock { $0 }
        let acknowledged = progress.lastAcknowledged.map { "up to sequence \($0)" } ?? "nothing"
        guard progress.sentEnd else {
            throw StreamKitError(
                code: .storeUnavailable,
                message: "the server ended the produce before it was sent whole (acknowledged \(acknowledged)); "
                    + "what came after may or may not be committed", storeID: store)
        }
        if let lastSent = progress.lastSent, (progress.lastAcknowledged ?? 0) < lastSent {
            throw StreamKitError(
                code: .storeUnavailable,
                message: "the server ended the produce with records unacknowledged (acknowledged \(acknowledged) "
                    + "of \(lastSent)); they may or may not be committed", storeID: store)
        }
    }
}
