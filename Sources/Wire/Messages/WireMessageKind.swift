/// The tag that says which message a frame carries (the frame header's `kind` varint).
///
/// Values below 128 encode as one varint byte. Values are never reused: a new message gets a new value and a
/// new protocol version.
public enum WireMessageKind: UInt8, Sendable, Hashable, CaseIterable {
    // Connection and generic results.
    /// The `hello` message.
    case hello = 0x01
    /// The `error` message.
    case error = 0x02
    /// The `ack` message.
    case ack = 0x03
    /// The `empty` message.
    case empty = 0x04
    // Writes.
    /// The `produceOpen` message.
    case produceOpen = 0x10
    /// The `records` message.
    case records = 0x11
    /// The `produceEnd` message.
    case produceEnd = 0x12
    /// The `status` message.
    case status = 0x13
    /// The `publish` message.
    case publish = 0x14
    // Reads.
    /// The `peek` message.
    case peek = 0x20
    /// The `getStatus` message.
    case getStatus = 0x21
    /// The `consumeSegment` message.
    case consumeSegment = 0x22
    /// The `consumeSpace` message.
    case consumeSpace = 0x23
    /// The `consume` message.
    case consume = 0x24
    /// The `entries` message.
    case entries = 0x25
    /// The `storedEntries` message.
    case storedEntries = 0x2A
    /// The `spaces` message.
    case spaces = 0x26
    /// The `segments` message.
    case segments = 0x27
    /// The `names` message.
    case names = 0x28
    /// The `subscribe` message.
    case subscribe = 0x29
    /// The `deleteEntries` message.
    case deleteEntries = 0x2B
    /// The `deleted` message.
    case deleted = 0x2C
    /// The `getRetention` message.
    case getRetention = 0x2D
    /// The `setRetention` message.
    case setRetention = 0x2E
    /// The `retention` message.
    case retention = 0x2F
    // Leases.
    /// The `leaseAcquire` message.
    case leaseAcquire = 0x30
    /// The `leaseRenew` message.
    case leaseRenew = 0x31
    /// The `leaseRelease` message.
    case leaseRelease = 0x32
    /// The `leaseQuery` message.
    case leaseQuery = 0x33
    /// The `leaseResult` message.
    case leaseResult = 0x34
    // Worker presence.
    /// The `workerRegister` message.
    case workerRegister = 0x40
    /// The `workerRegistered` message.
    case workerRegistered = 0x41
    /// The `workerHeartbeat` message.
    case workerHeartbeat = 0x42
    /// The `workerUnregister` message.
    case workerUnregister = 0x43
    /// The `workerInventoryRequest` message.
    case workerInventoryRequest = 0x44
    /// The `workerInventory` message.
    case workerInventory = 0x45
    /// The `workerWatch` message.
    case workerWatch = 0x46
    // Durable consumers.
    /// The `consumerCreate` message.
    case consumerCreate = 0x50
    /// The `consumerQuery` message.
    case consumerQuery = 0x51
    /// The `consumerAck` message.
    case consumerAck = 0x52
    /// The `consumerDelete` message.
    case consumerDelete = 0x53
    /// The `consumers` message.
    case consumers = 0x54
}
