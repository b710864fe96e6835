/// A durable consumer and how far it is behind.
public struct ConsumerStatus: Sendable, Hashable {
    /// The consumer as recorded (with acknowledgements not yet recorded merged in).
    public var consumer: Consumer
    /// Its lag behind the head of what it reads.
    public var lag: ConsumerLag

    /// Describes a consumer's status.
    public init(consumer: Consumer, lag: ConsumerLag) {
        self.consumer = consumer
        self.lag = lag
    }
}
