public import FoundationEssentials
public import StreamKitEngine
import StreamKitLogFiles

/// The first request of a server stream together with the store it addresses.
///
/// A mux open frame carries exactly one ``WireMessage`` and the codec has no store-id field, so until a
/// protocol version adds one this envelope travels *as* the open's request: a ``WireMessage/records(_:)``
/// message with exactly one record whose metadata holds `streamkit.store` (the store's UUID, canonical text)
/// and whose payload is the codec frame (``WireEncoder``) of the real request. A `records` message is never a
/// valid opening request on its own, so the envelope cannot be mistaken for one.
public struct StoreStreamOpen: Hashable, Sendable {
    /// The metadata key holding the store id.
    public static let storeKey = "streamkit.store"

    /// The store the stream works on.
    public var storeID: UUID
    /// The stream's first request (`publish`, `consumeSegment`, `produceOpen` …).
    public var request: WireMessage

    /// Creates an open.
    public init(storeID: UUID, request: WireMessage) {
        self.storeID = storeID
        self.request = request
    }

    /// The envelope message to put in the open frame.
    ///
    /// - Parameter limits: Codec limits for the inner request.
    /// - Throws: `invalidArgument` when the request cannot be encoded within the limits.
    public func envelope(limits: WireLimits = WireLimits()) throws(StreamKitError) -> WireMessage {
        var encoder = WireEncoder(compressionThreshold: Int.max, limits: limits)
        let frame: [UInt8]
        do {
            frame = try encoder.encode(request)
        } catch {
            throw StreamKitError(code: .invalidArgument, message: "the request cannot be encoded: \(error)")
        }
        let record = Record(sequence: 0, payload: frame, metadata: [Self.storeKey: storeID.uuidString])
        return .records([record])
    }

    /// Unwraps an envelope received as a stream's opening request.
    ///
    /// - Parameters:
    ///   - message: The open frame's request.
    ///   - limits: Codec limits for the inner request.
    /// - Throws: `invalidArgument` when the message is not an envelope, names no valid store id, or carries a
    ///   request that does not decode.
    public init(envelope message: WireMessage, limits: WireLimits = WireLimits()) throws(StreamKitError) {
        guard case .records(let records) = message, records.count == 1, let record = records.first else {
            throw StreamKitError(
                code: .invalidArgument, message: "a stream must open with a store envelope, got \(message.kind)")
        }
        guard let text = record.metadata[Self.storeKey], let id = UUID(uuidString: text) else {
            throw StreamKitError(code: .invalidArgument, message: "the stream open names no valid store id")
        }
        do {
            request = try WireDecoder(limits: limits).decode(frame: record.payload)
        } catch {
            throw StreamKitError(code: .invalidArgument, message: "the stream's request does not decode: \(error)")
        }
        storeID = id
    }
}
