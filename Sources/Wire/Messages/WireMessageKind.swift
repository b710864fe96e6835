/// The tag that says which message a frame carries (the frame header's `kind` varint).
///
/// Values below 128 encode as one varint byte. Values are never reused: a new message gets a new value and a
/// new protocol version.
public enum WireMessageKind: UInt8, Sendable, Hashable, CaseIterable {
    // Connection and generic results.
    case hello = 0x01
    case error = 0x02
    case ack = 0x03
    case empty = 0x04
    // Writes.
    case produceOpen = 0x10
    case records = 0x11
    case produceEnd = 0x12
    case status = 0x13
    case publish = 0x14
    // Reads.
    case peek = 0x20
    case getStatus = 0x21
    case consumeSegment = 0x22
    case consumeSpace = 0x23
    case consume = 0x24
    case entries = 0x25
    case spaces = 0x26
    case segments = 0x27
    case names = 0x28
    case subscribe = 0x29
    // Leases.
    case leaseAcquire = 0x30
    case leaseRenew = 0x31
    case leaseRelease = 0x32
    case leaseQuery = 0x33
    case leaseResult = 0x34
    // Worker presence.
    case workerRegister = 0x40
    case workerRegistered = 0x41
    case workerHeartbeat = 0x42
    case workerUnregister = 0x43
    case workerInventoryRequest = 0x44
    case workerInventory = 0x45
}
