public import StreamKitClient

/// Turns events into the payload and metadata of records, and entries back into events.
///
/// ``JSONEventCodec`` is the default for `Codable` events; write your own for another format (Protocol Buffers, a
/// hand-rolled binary layout) or to read events that other programs wrote. A codec must decode what it encoded,
/// also after the program changed: events are kept for good, so decode old shapes too (for instance, switch on a
/// version you put in the metadata).
///
/// ```swift
/// struct TextCodec: EventCodec {
///     func encode(_ event: String) throws -> (payload: [UInt8], metadata: [String: String]) {
///         (Array(event.utf8), ["type": "text"])
///     }
///     func decode(_ entry: Entry) throws -> String { String(decoding: entry.payload.bytes, as: UTF8.self) }
/// }
/// ```
public protocol EventCodec<Event>: Sendable {
    /// The events this codec reads and writes.
    associatedtype Event: Sendable

    /// Encodes one event as a record's payload and metadata.
    ///
    /// The store limits both (by default 4 MiB of payload, 64 metadata pairs and 64 KiB of metadata per record).
    ///
    /// - Parameter event: The event to store.
    /// - Returns: The record's payload and metadata.
    /// - Throws: Whatever the encoding throws; ``AggregateRepository/save(_:events:expectedVersion:)`` reports it
    ///   as ``EventSourcingError/Code/encodingFailed`` and writes nothing.
    func encode(_ event: Event) throws -> (payload: [UInt8], metadata: [String: String])

    /// Decodes one stored event.
    ///
    /// - Parameter entry: The stored entry: its payload and metadata as encoded, and what the store assigned (its
    ///   sequence, which is the aggregate's version after this event, and its commit time).
    /// - Returns: The event.
    /// - Throws: Whatever the decoding throws; ``AggregateRepository/load(_:)`` reports it as
    ///   ``EventSourcingError/Code/decodingFailed`` with the entry's sequence.
    func decode(_ entry: Entry) throws -> Event
}
