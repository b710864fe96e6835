/// How a ``ConsumerReader`` acknowledges what the application processed.
public enum ConsumerAcknowledgement: Sendable, Hashable {
    /// An entry counts as processed once the application asks for the next one (or the read ends); positions go to
    /// the store per batch without waiting, and are recorded before ``StreamKitClient/withConsumer(store:name:acknowledgement:ttl:holder:_:)``
    /// returns.
    case automatic
    /// Only ``ConsumerReader/acknowledge(through:)`` moves the position.
    case manual
}
