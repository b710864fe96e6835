/// The settings of one multiplexed connection: how many streams, how much memory, how often to ping.
///
/// Every limit has a safe default, so a hostile or broken peer can never make a connection hold unbounded
/// memory. Breaking a per-stream limit ends that stream with a typed error; a protocol violation ends the
/// connection. Both sides send credit from their own settings, so peers need not share them.
public struct MuxLimits: Hashable, Sendable {
    /// Limits of the message frames carried inside open and data frames.
    public var wire: WireLimits
    /// Most bytes of one mux frame (one WebSocket binary message). Default: `wire.maxFrameBytes` plus 4 KiB.
    public var maxFrameBytes: Int
    /// Most streams the peer may have open at once on this connection (and most this side opens). Default 16,384.
    public var maxConcurrentStreams: Int
    /// Most received messages a stream holds before the application consumes them; the message credit
    /// granted per stream. Default 64.
    public var streamQueueDepth: Int
    /// Most received bytes (whole mux frames) a stream holds before the application consumes them; the byte
    /// credit granted per stream. A single message may overshoot it by up to one frame. Default 1 MiB.
    public var streamWindowBytes: Int
    /// Most received, not yet consumed bytes across all streams of the connection; a frame that would pass it
    /// ends its stream with `overloaded`. Default 64 MiB.
    public var maxBufferedBytes: Int
    /// Most UTF-8 bytes of a W3C `traceparent` on an open. Default 512.
    public var maxTraceparentBytes: Int
    /// Recently closed stream ids remembered so late frames for them are ignored. Default 1,024.
    public var maxTombstones: Int
    /// How long a closed stream id is remembered. Default 60 s.
    public var tombstoneLifetime: Duration
    /// A ping is sent after this long without a received frame. Default 30 s.
    public var pingInterval: Duration
    /// The connection is dead after this long without a received frame. Default 90 s.
    public var silenceTimeout: Duration

    /// Creates settings; every argument has a safe default and is clamped to a sane range.
    ///
    /// - Parameters:
    ///   - wire: Limits of the carried message frames.
    ///   - maxFrameBytes: Most bytes per mux frame (nil: `wire.maxFrameBytes` + 4 KiB).
    ///   - maxConcurrentStreams: Most open streams per connection and direction.
    ///   - streamQueueDepth: Message credit (queue depth) per stream, at least 1.
    ///   - streamWindowBytes: Byte credit per stream, at least 1.
    ///   - maxBufferedBytes: Most unconsumed received bytes per connection.
    ///   - maxTraceparentBytes: Most bytes of a `traceparent`.
    ///   - maxTombstones: Most remembered closed stream ids.
    ///   - tombstoneLifetime: How long a closed stream id is remembered.
    ///   - pingInterval: Silence before a ping.
    ///   - silenceTimeout: Silence before the connection is declared dead.
    public init(
        wire: WireLimits = WireLimits(), maxFrameBytes: Int? = nil, maxConcurrentStreams: Int = 16_384,
        streamQueueDepth: Int = 64, streamWindowBytes: Int = 1 << 20, maxBufferedBytes: Int = 64 << 20,
        maxTraceparentBytes: Int = 512, maxTombstones: Int = 1_024, tombstoneLifetime: Duration = .seconds(60),
        pingInterval: Duration = .seconds(30), silenceTimeout: Duration = .seconds(90)
    ) {
        self.wire = wire
        let frameBytes = maxFrameBytes ?? (wire.maxFrameBytes &+ 4096)
        self.maxFrameBytes = min(max(64, frameBytes), Int(Int32.max))
        self.maxConcurrentStreams = max(1, maxConcurrentStreams)
        self.streamQueueDepth = min(max(1, streamQueueDepth), MuxCredit.maxWindow)
        self.streamWindowBytes = min(max(1, streamWindowBytes), MuxCredit.maxWindow)
        self.maxBufferedBytes = max(0, maxBufferedBytes)
        self.maxTraceparentBytes = max(0, maxTraceparentBytes)
        self.maxTombstones = max(0, maxTombstones)
        self.tombstoneLifetime = tombstoneLifetime
        self.pingInterval = pingInterval
        self.silenceTimeout = silenceTimeout
    }
}

extension MuxLimits {
    /// Most body bytes of one message a data frame can carry under these limits, even uncompressed: within the
    /// codec's message and frame limits, and with the data frame's type and stream id and the codec frame's
    /// header within the mux frame limit.
    var maxDataMessageBytes: Int {
        let framing = 1 + 10 + FrameHeader.maxBytes  // Type, stream id (a varint), codec frame header.
        return max(0, min(wire.maxMessageBytes, wire.maxFrameBytes, maxFrameBytes - framing))
    }
}
