import Logging
import StreamKitEngine
import StreamKitWire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A segment or space read over the WebSocket transport that survives lost connections: it remembers the last
/// entry it handed out (a segment's sequence, or each space's offset) and, when the connection is lost under
/// it, reopens on the next connection right after that entry with what is left of the limit. Entries already
/// received are handed out first, so the application sees every entry once, in order.
///
/// A failure from the server (a typed error on a live connection) ends the read unchanged. Resuming can be
/// switched off (``WebSocketOptions/resumeReads``); it also gives up when the connection is lost
/// `retryPolicy.maxAttempts` times in a row without an entry delivered in between.
///
/// Not `Sendable`: one task iterates a read.
final class ResumableRead {
    /// What the read asks for.
    enum Request {
        case segment(SegmentReadRequest)
        case spaces(SpaceReadRequest)
    }

    private let transport: WebSocketTransport
    private let store: UUID
    private var request: Request
    private let limit: Int
    private var delivered = 0
    private var lastSequence: UInt64?
    private var handle: StreamHandle?
    private var batch: [Entry] = []
    private var index = 0
    private var finished = false
    private var progressed = false
    private var stalledResumes = 0
    /// The trace context of the read's span, sent again on every reopen.
    private let traceparent: String?

    /// Creates the read; call it in the read's trace context (the client's span), which every open carries.
    init(transport: WebSocketTransport, store: UUID, request: Request) {
        self.transport = transport
        self.store = store
        self.request = request
        traceparent = WebSocketTransport.currentTraceparent()
        switch request {
        case .segment(let segment): limit = segment.limit
        case .spaces(let spaces): limit = spaces.limit
        }
    }

    private var operation: String {
        if case .segment = request { "consumeSegment" } else { "consume" }
    }

    /// Opens the first stream (under the retry policy).
    func start() async throws {
        handle = try await transport.open(
            operation, store: store, message, closeAfterOpen: true, autoConsume: false, traceparent: traceparent)
    }

    /// The next entries (at least one), or nil at the end: the rest of the batch received last, or the next one.
    func nextBatch() async throws -> [Entry]? {
        while true {
            if index < batch.count {
                let entries = index == 0 ? batch : Array(batch[index...])
                index = batch.count
                record(entries)
                return entries
            }
            if finished { return nil }
            batch = []
            index = 0
            if handle == nil {
                if isComplete {
                    finished = true
                    return nil
                }
                try await start()
            }
            guard let handle else { return nil }
            switch try await handle.next() {
            case .message(.entries(let entries)):
                batch = entries
            case .message(.storedEntries(let stored)):
                do {
                    batch = try entries(of: stored)
                } catch {
                    finished = true
                    self.handle = nil
                    throw error
                }
            case .message(let other):
                finished = true
                self.handle = nil
                throw StreamKitError(code: .internalError, message: "a read received \(other.kind), not entries")
            case .finished:
                finished = true
                self.handle = nil
                return nil
            case .failed(let error):
                finished = true
                self.handle = nil
                throw error
            case .lost(let error), .refused(let error):
                self.handle = nil
                try resume(after: error)
            }
        }
    }

    /// Decodes a stored block from the server (in the reading task: decoding on the connection's reader instead
    /// was slower, measured) and checks that its entries are what the read asked for.
    /// - Throws: `StreamKitError` `.corrupt` when the block fails its checks or holds other entries.
    private func entries(of stored: StoredEntries) throws -> [Entry] {
        let entries = try stored.entries()
        guard let first = entries.first, let last = entries.last else { return entries }
        let belongs: Bool
        switch request {
        case .segment(let segment):
            belongs =
                first.space == segment.space && first.segment == segment.segment && last.space == segment.space
                && last.segment == segment.segment && last.sequence &- first.sequence == UInt64(entries.count - 1)
        case .spaces(let spaces):
            belongs = spaces.offsets[first.space] != nil && spaces.offsets[last.space] != nil
        }
        guard belongs else {
            throw StreamKitError(
                code: .corrupt, message: "a stored block from the server holds entries the read did not ask for")
        }
        return entries
    }

    /// Decides whether to reopen after a lost connection; throws the loss when not.
    private func resume(after error: StreamKitError) throws {
        guard transport.options.resumeReads else {
            finished = true
            throw error
        }
        stalledResumes = progressed ? 0 : stalledResumes + 1
        progressed = false
        guard stalledResumes < transport.context.retryPolicy.effectiveMaxAttempts else {
            finished = true
            throw error
        }
        transport.context.metrics.count(.resumedRead)
        transport.context.logger.debug(
            "read interrupted by a lost connection; resuming",
            metadata: [
                "store_id": "\(store)", "operation": "\(operation)", "delivered": "\(delivered)", "error": "\(error)",
            ])
    }

    /// Remembers entries handed out: how many, and where to resume (the last sequence, or each space's last
    /// offset).
    private func record(_ entries: [Entry]) {
        guard let last = entries.last else { return }
        delivered += entries.count
        progressed = true
        switch request {
        case .segment:
            lastSequence = last.sequence
        case .spaces(var spaces):
            var updated = Set<String>()
            for entry in entries.reversed() where updated.count < spaces.offsets.count {
                if updated.insert(entry.space).inserted { spaces.offsets[entry.space] = entry.offset }
            }
            request = .spaces(spaces)
        }
    }

    /// Whether the entries delivered already cover the whole read.
    private var isComplete: Bool {
        if limit > 0, delivered >= limit { return true }
        guard case .segment(let segment) = request, let lastSequence else { return false }
        return lastSequence == .max || (segment.maxSequence != 0 && lastSequence >= segment.maxSequence)
    }

    /// The request for the rest of the read.
    private var message: WireMessage {
        let remaining = limit > 0 ? limit - delivered : 0
        switch request {
        case .segment(let segment):
            var minSequence = segment.minSequence
            if let lastSequence { minSequence = lastSequence + 1 }
            let bounds = ReadBounds(
                minSequence: minSequence, maxSequence: segment.maxSequence, minTimestamp: segment.minTimestamp,
                maxTimestamp: segment.maxTimestamp)
            return .consumeSegment(space: segment.space, segment: segment.segment, bounds: bounds, limit: remaining)
        case .spaces(let spaces):
            let bounds = ReadBounds(minTimestamp: spaces.minTimestamp, maxTimestamp: spaces.maxTimestamp)
            if spaces.offsets.count == 1, let (space, offset) = spaces.offsets.first {
                return .consumeSpace(space: space, offset: offset, bounds: bounds, limit: remaining)
            }
            return .consume(spaces: spaces.offsets, bounds: bounds, limit: remaining)
        }
    }
}
