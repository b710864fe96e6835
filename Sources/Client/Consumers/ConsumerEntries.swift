public import StreamKitEngine

/// A durable consumer's read (``ConsumerReader/entries(limit:)``): entries after its position up to the head. In
/// automatic mode an entry counts as processed when the next one is asked for, and every entry when the read ends.
public struct ConsumerEntries: AsyncSequence, Sendable {
    public typealias Element = Entry

    let reader: ConsumerReader
    let inner: ClientStream<Entry>

    public func makeAsyncIterator() -> Iterator { Iterator(reader: reader, inner: inner.makeAsyncIterator()) }

    /// Iterates the read.
    public struct Iterator: AsyncIteratorProtocol {
        let reader: ConsumerReader
        var inner: ClientStream<Entry>.Iterator
        /// The entry handed out last, processed once the next one is asked for.
        var outstanding: Entry?

        public mutating func next() async throws -> Entry? {
            if let entry = outstanding {
                outstanding = nil
                try await reader.processed(entry)
            }
            guard let entry = try await inner.next() else {
                try await reader.acknowledgeProcessed()
                return nil
            }
            reader.delivered(entry)
            outstanding = entry
            return entry
        }
    }
}
