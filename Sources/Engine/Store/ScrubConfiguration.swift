/// Settings of a store's background scrub: a task that re-reads every sealed block of the log and checks it
/// (header, CRC32C, decompression, record framing) so that damage is found without waiting for a reader.
///
/// Damage it finds is reported like damage a reader finds (``DamagedBlock``). The scrub runs only for
/// storages with bytes to check (the file log), starts when the store opens, walks the log from its first
/// block at ``bytesPerSecond``, keeps up with newly sealed blocks, and starts a new pass once
/// ``passInterval`` has passed since the previous one began. It stops when the store closes.
public struct ScrubConfiguration: Sendable, Hashable {
    /// Whether the scrub runs. Default true.
    public var isEnabled = true
    /// Bytes of log read per second at most (each store scrubs at this rate); zero or negative reads
    /// without pause (tests). Default 2 MiB/s: a 1 GiB log takes about 9 minutes.
    public var bytesPerSecond = 2 << 20
    /// Time from the start of one pass over the whole log to the start of the next. Default 24 hours.
    public var passInterval: Duration = .seconds(24 * 3600)
    /// How often a scrub that has caught up with the log looks for newly sealed blocks. Default 60 seconds.
    public var pollInterval: Duration = .seconds(60)

    /// The default settings.
    public init() {}
}
