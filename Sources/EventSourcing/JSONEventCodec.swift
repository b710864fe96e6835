public import StreamKitClient

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Stores `Codable` events as JSON, with the event's type name in the metadata key `"type"`.
///
/// The payload is what `JSONEncoder` makes of the event (default settings); decoding reads the payload alone, so
/// the type name is for people and for programs that read the segment without this codec (a projection that
/// filters on it, `streamkit tail`). By default it is the Swift type's name (`String(describing: Event.self)`);
/// give `typeName` to name each event, e.g. by its enum case.
///
/// ```swift
/// let codec = JSONEventCodec<Account.Event> { event in
///     switch event {
///     case .deposited: "deposited"
///     case .withdrawn: "withdrawn"
///     }
/// }
/// ```
public struct JSONEventCodec<Event: Codable & Sendable>: EventCodec {
    private let typeName: @Sendable (Event) -> String

    /// Creates a codec.
    ///
    /// - Parameter typeName: The value of the metadata key `"type"` for an event; by default the Swift type's name.
    public init(typeName: @escaping @Sendable (Event) -> String = { _ in String(describing: Event.self) }) {
        self.typeName = typeName
    }

    /// Encodes the event as JSON.
    ///
    /// - Parameter event: The event.
    /// - Returns: The JSON bytes, and `["type": typeName(event)]`.
    /// - Throws: `EncodingError` when the event cannot be encoded (a non-finite `Double` …).
    public func encode(_ event: Event) throws -> (payload: [UInt8], metadata: [String: String]) {
        (Array(try JSONEncoder().encode(event)), ["type": typeName(event)])
    }

    /// Decodes the entry's payload as JSON.
    ///
    /// - Parameter entry: The stored entry.
    /// - Returns: The event.
    /// - Throws: `DecodingError` when the payload is not an `Event` in JSON.
    public func decode(_ entry: Entry) throws -> Event {
        try JSONDecoder().decode(Event.self, from: entry.payload.withUnsafeBytes { Data($0) })
    }
}
