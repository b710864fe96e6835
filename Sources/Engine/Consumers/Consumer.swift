/// A durable named consumer: a cursor the store keeps (with its log, so it survives restarts, is in backups and is
/// shared by every node of a PostgreSQL store) so that a reader resumes after the last entry it acknowledged.
///
/// Create one with ``Store/createConsumer(name:target:startAtHead:)``, read from ``position`` (``ConsumerPosition``
/// gives the offsets or sequence to resume after) and acknowledge with ``Store/acknowledge(consumer:through:fencingToken:durable:)``.
/// See `docs/semantics.md`, "Durable consumers".
public struct Consumer: Sendable, Hashable {
    /// The consumer's name (1–240 UTF-8 bytes), unique in its store.
    public var name: String
    /// What it reads.
    public var target: ConsumerTarget
    /// The last acknowledged entries.
    public var position: ConsumerPosition
    /// The highest fencing token an acknowledgement carried (0: none did). Acknowledgements with a lower token are
    /// refused (`leaseNotHeld`): a reader whose lease was taken over cannot move the position.
    public var fencingToken: UInt64
    /// When it was created, nanoseconds since the Unix epoch (the store's clock).
    public var createdAt: Int64
    /// When its position last changed (or it was created).
    public var updatedAt: Int64

    /// Describes a consumer.
    public init(
        name: String, target: ConsumerTarget, position: ConsumerPosition = .start, fencingToken: UInt64 = 0,
        createdAt: Int64 = 0, updatedAt: Int64 = 0
    ) {
        self.name = name
        self.target = target
        self.position = position
        self.fencingToken = fencingToken
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The lease key that makes a consumer's reader exclusive: `consumer:<name>`.
    public var leaseKey: String { Self.leaseKey(name) }

    /// The lease key of the consumer named `name`.
    public static func leaseKey(_ name: String) -> String { "consumer:" + name }

    /// Most UTF-8 bytes of a consumer's name (its lease key stays within the 256 bytes of a key).
    public static let maxNameBytes = 240
}
