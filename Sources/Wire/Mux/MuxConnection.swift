public import FoundationEssentials
public import StreamKitEngine

/// The transport-independent state machine of one multiplexed connection: many bidirectional streams, credit
/// flow control, limits, tombstones, heartbeats and go-away.
///
/// Feed every received binary message to ``receive(_:now:)-(UnsafeRawBufferPointer,_)`` and call
/// ``tick(now:)`` now and then (every second or so); write every ``MuxAction/send(_:)`` frame, and every frame
/// the `send`-side methods return, to the transport in order. Nothing here blocks, sleeps, allocates without
/// bound or traps on input; time comes only from the `now` arguments.
///
/// Stream ids: the client opens odd ids, the server even ids, each side strictly increasing. Credit: a side may
/// send data on a stream only while the peer has granted it credit (messages and bytes); the receiver grants
/// more as the application calls ``consumed(_:count:)``, so a slow reader stalls only its own stream.
///
/// Not `Sendable`: one owner drives it (a channel handler on its event loop, or an actor).
public final class MuxConnection {
    /// Which side of the connection this is; it decides the parity of the stream ids this side opens.
    public enum Role: Hashable, Sendable {
        /// Opens odd stream ids.
        case client
        /// Opens even stream ids.
        case server
    }

    /// This side's role.
    public let role: Role
    /// This side's settings.
    public let limits: MuxLimits

    private var encoder: WireEncoder
    private var scratch = WireBuffer(capacity: 4096)
    private let decoder: WireDecoder
    private var streams: [UInt64: MuxStream] = [:]
    private var tombstones: MuxTombstones
    private var nextLocalID: UInt64
    /// Highest id the peer opened (accepted or refused): opens must go above it.
    private var highestPeerID: UInt64 = 0
    /// Highest id the peer opened that this side accepted: the go-away `lastStreamID`.
    private var lastAcceptedPeerID: UInt64 = 0
    private var localOpenCount = 0
    private var peerOpenCount = 0
    private var buffered = 0
    private var closedError: StreamKitError?
    private var goAwaySent = false
    private var peerLastStreamID: UInt64?
    private var lastReceived: ContinuousClock.Instant
    /// The latest `now` seen, for tombstones of streams this side ends.
    private var clock: ContinuousClock.Instant
    private var lastPingSent: ContinuousClock.Instant?
    private var pingCounter: UInt64 = 0

    /// Creates a connection.
    ///
    /// - Parameters:
    ///   - role: Client (odd stream ids) or server (even ids).
    ///   - limits: Settings with safe defaults.
    ///   - now: The current time; silence is measured from here until the first frame arrives.
    public init(role: Role, limits: MuxLimits = MuxLimits(), now: ContinuousClock.Instant) {
        self.role = role
        self.limits = limits
        encoder = WireEncoder(limits: limits.wire)
        decoder = WireDecoder(limits: limits.wire)
        tombstones = MuxTombstones(maxCount: limits.maxTombstones, lifetime: limits.tombstoneLifetime)
        nextLocalID = role == .client ? 1 : 2
        lastReceived = now
        clock = now
    }

    // MARK: - Inspection

    /// The state of a stream.
    ///
    /// - Parameter streamID: The stream id.
    /// - Returns: Its state; `closed` for ids that were used and are gone.
    public func state(of streamID: UInt64) -> MuxStreamState {
        if let stream = streams[streamID] { return stream.state }
        return wasUsed(streamID) ? .closed : .idle
    }

    /// Streams not yet finished on both sides (or with unconsumed messages).
    public var activeStreamCount: Int { streams.count }
    /// Received bytes (whole frames) delivered to the application and not yet consumed, over all streams.
    public var bufferedBytes: Int { buffered }
    /// Closed stream ids currently remembered.
    public var tombstoneCount: Int { tombstones.count }
    /// Whether the connection is over; every call after that does nothing.
    public var isClosed: Bool { closedError != nil }
    /// Whether go-away was sent or received and no stream is left: the transport can be closed.
    public var isDrained: Bool { (goAwaySent || peerLastStreamID != nil) && streams.isEmpty }

    /// Whether a data frame may be sent on the stream now (it is open on this side and has credit).
    ///
    /// - Parameter streamID: The stream id.
    public func canSend(on streamID: UInt64) -> Bool {
        closedError == nil && (streams[streamID]?.canSend ?? false)
    }

    /// The credit the peer has given this side on a stream (bytes may be below zero after an oversized message).
    ///
    /// - Parameter streamID: The stream id.
    /// - Returns: Messages and bytes left, or nil for a stream that is not active.
    public func sendCredit(on streamID: UInt64) -> (messages: Int, bytes: Int)? {
        streams[streamID].map { ($0.sendMessages, $0.sendBytes) }
    }

    // MARK: - Sending

    /// Opens a stream with its first request.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - store: The store the stream addresses; nil for connection-level requests.
    ///   - traceparent: The W3C trace context to carry, if any.
    /// - Returns: The new stream id and the open frame to write.
    /// - Throws: `StreamKitError`: `storeUnavailable` (retryable) when the connection is closed or going away,
    ///   `overloaded` (retryable) when this side has `maxConcurrentStreams` open, `invalidArgument` when the
    ///   request cannot be encoded within the limits.
    public func openStream(
        _ request: WireMessage, store: UUID? = nil, traceparent: String? = nil
    ) throws(StreamKitError) -> (streamID: UInt64, frame: [UInt8]) {
        try checkOpen()
        guard !goAwaySent, peerLastStreamID == nil else {
            throw StreamKitError(code: .storeUnavailable, message: "the connection is going away")
        }
        guard localOpenCount < limits.maxConcurrentStreams else {
            throw StreamKitError(
                code: .overloaded, message: "too many open streams on this connection",
                limit: limits.maxConcurrentStreams, value: localOpenCount + 1)
        }
        let id = nextLocalID
        let credit = MuxCredit(messages: limits.streamQueueDepth, bytes: limits.streamWindowBytes)
        let frame = try encode(
            .open(streamID: id, store: store, request: request, traceparent: traceparent, credit: credit))
        nextLocalID += 2
        var stream = MuxStream()
        stream.recvMessages = credit.messages
        stream.recvBytes = credit.bytes
        streams[id] = stream
        localOpenCount += 1
        return (id, frame)
    }

    /// Sends a message on a stream.
    ///
    /// - Parameters:
    ///   - message: The message.
    ///   - streamID: An active stream this side has not closed.
    /// - Returns: The data frame to write.
    /// - Throws: `StreamKitError`: `overloaded` (retryable) when the stream has no credit (wait for
    ///   ``MuxAction/writable(streamID:)``), `invalidArgument` for a stream that is not open for sending or a
    ///   message over the limits, `storeUnavailable` when the connection is closed.
    public func send(_ message: WireMessage, on streamID: UInt64) throws(StreamKitError) -> [UInt8] {
        try checkOpen()
        guard var stream = streams[streamID], !stream.localClosed else {
            throw StreamKitError(code: .invalidArgument, message: "stream \(streamID) is not open for sending")
        }
        guard stream.canSend else {
            throw StreamKitError(code: .overloaded, message: "stream \(streamID) has no credit; wait until writable")
        }
        let frame = try encode(.data(streamID: streamID, message: message))
        stream.sendMessages -= 1
        stream.sendBytes -= frame.count
        streams[streamID] = stream
        return frame
    }

    /// Finishes this side's half of a stream; the peer may go on sending.
    ///
    /// - Parameter streamID: An active stream this side has not closed.
    /// - Returns: The close frame to write, or nil when there is nothing to close.
    public func close(_ streamID: UInt64) -> [UInt8]? {
        guard closedError == nil, var stream = streams[streamID], !stream.localClosed else { return nil }
        stream.localClosed = true
        streams[streamID] = stream
        let frame = try? encode(.close(streamID: streamID))
        retireIfDone(streamID, now: clock)
        return frame
    }

    /// Ends a stream with a typed error in both directions.
    ///
    /// - Parameters:
    ///   - streamID: An active stream.
    ///   - error: Why; it crosses the wire with its code and retryable flag.
    /// - Returns: The error frame to write, or nil for a stream that is not active.
    public func reset(_ streamID: UInt64, error: StreamKitError) -> [UInt8]? {
        guard closedError == nil, streams[streamID] != nil else { return nil }
        remove(streamID, now: clock)
        return errorFrame(streamID, error)
    }

    /// Tells the connection the application has taken the oldest `count` messages of a stream (the opening
    /// request counts as one), so their memory is free and the peer can be granted more credit.
    ///
    /// - Parameters:
    ///   - streamID: The stream.
    ///   - count: How many messages were consumed.
    /// - Returns: A credit frame to write when enough credit has been freed (half a window), else nil.
    public func consumed(_ streamID: UInt64, count: Int = 1) -> [UInt8]? {
        guard closedError == nil, var stream = streams[streamID] else { return nil }
        buffered -= stream.pop(count)
        var frame: [UInt8]?
        if !stream.remoteClosed {
            let messages = limits.streamQueueDepth - stream.pendingCount - stream.recvMessages
            let bytes = limits.streamWindowBytes - stream.pendingBytes - stream.recvBytes
            if messages >= max(1, limits.streamQueueDepth / 2) || bytes >= max(1, limits.streamWindowBytes / 2) {
                let grant = MuxCredit(messages: messages, bytes: bytes)
                stream.recvMessages += grant.messages
                stream.recvBytes += grant.bytes
                frame = try? encode(.credit(streamID: streamID, credit: grant))
            }
        }
        streams[streamID] = stream
        retireIfDone(streamID, now: clock)
        return frame
    }

    /// Starts a graceful shutdown: the peer may open no more streams; the active ones finish normally.
    ///
    /// - Parameter error: Why, when the shutdown is not graceful (nil for a normal one).
    /// - Returns: The go-away frame to write, or nil when the connection is closed.
    public func goAway(error: StreamKitError? = nil) -> [UInt8]? {
        guard closedError == nil else { return nil }
        goAwaySent = true
        return try? encode(.goAway(lastStreamID: lastAcceptedPeerID, error: error))
    }

    // MARK: - Time

    /// Advances the clock: sends a ping after ``MuxLimits/pingInterval`` of silence, declares the connection
    /// dead after ``MuxLimits/silenceTimeout``, and forgets old tombstones.
    ///
    /// - Parameter now: The current time.
    /// - Returns: What to do.
    public func tick(now: ContinuousClock.Instant) -> [MuxAction] {
        guard closedError == nil else { return [] }
        clock = max(clock, now)
        tombstones.expire(now: now)
        let silence = now - lastReceived
        if silence >= limits.silenceTimeout {
            return fail(
                StreamKitError(code: .storeUnavailable, message: "no frame from the peer for \(silence)"),
                sendGoAway: false)
        }
        if silence >= limits.pingInterval, lastPingSent.map({ now - $0 >= limits.pingInterval }) ?? true {
            lastPingSent = now
            pingCounter &+= 1
            if let frame = try? encode(.ping(pingCounter)) { return [.send(frame)] }
        }
        return []
    }

    // MARK: - Receiving

    /// Handles one received mux frame.
    ///
    /// - Parameters:
    ///   - frame: One WebSocket binary message.
    ///   - now: The current time.
    /// - Returns: What to do, in order. A protocol violation gives a go-away frame to send, resets of every
    ///   active stream and ``MuxAction/closeConnection(error:)``; afterwards every call does nothing.
    public func receive(_ frame: UnsafeRawBufferPointer, now: ContinuousClock.Instant) -> [MuxAction] {
        guard closedError == nil else { return [] }
        let decoded: MuxFrame
        do throws(WireError) {
            decoded = try MuxFrame.decode(frame, limits: limits, decoder: decoder)
        } catch {
            return violation("undecodable frame: \(error)")
        }
        lastReceived = now
        clock = max(clock, now)
        tombstones.expire(now: now)
        return handle(decoded, size: frame.count, now: now)
    }

    /// Handles one received mux frame held in an array.
    ///
    /// - Parameters:
    ///   - frame: One WebSocket binary message.
    ///   - now: The current time.
    /// - Returns: What to do, as ``receive(_:now:)-(UnsafeRawBufferPointer,_)``.
    public func receive(_ frame: [UInt8], now: ContinuousClock.Instant) -> [MuxAction] {
        frame.withUnsafeBytes { receive($0, now: now) }
    }

    private func handle(_ frame: MuxFrame, size: Int, now: ContinuousClock.Instant) -> [MuxAction] {
        switch frame {
        case .open(let id, let store, let request, let traceparent, let credit):
            return handleOpen(
                id, store: store, request: request, traceparent: traceparent, credit: credit, size: size, now: now)
        case .data(let id, let message):
            return handleData(id, message: message, size: size, now: now)
        case .close(let id):
            guard var stream = streams[id] else { return lateFrame(id, "close") }
            guard !stream.remoteClosed else {
                return resetLocally(
                    id, StreamKitError(code: .invalidArgument, message: "close after close on stream \(id)"), now)
            }
            stream.remoteClosed = true
            streams[id] = stream
            retireIfDone(id, now: now)
            return [.streamFinished(streamID: id)]
        case .error(let id, let error):
            guard streams[id] != nil else { return lateFrame(id, "error") }
            remove(id, now: now)
            return [.streamReset(streamID: id, error: error)]
        case .credit(let id, let credit):
            guard var stream = streams[id] else { return lateFrame(id, "credit") }
            let wasBlocked = !stream.canSend
            guard stream.sendMessages <= MuxCredit.maxWindow - credit.messages,
                stream.sendBytes <= MuxCredit.maxWindow - credit.bytes
            else { return violation("credit on stream \(id) overflows the window") }
            stream.sendMessages += credit.messages
            stream.sendBytes += credit.bytes
            streams[id] = stream
            return wasBlocked && stream.canSend ? [.writable(streamID: id)] : []
        case .ping(let opaque):
            return (try? encode(.pong(opaque))).map { [.send($0)] } ?? []
        case .pong:
            return []
        case .goAway(let last, let error):
            return handleGoAway(last: last, error: error, now: now)
        }
    }

    private func handleOpen(
        _ id: UInt64, store: UUID?, request: WireMessage, traceparent: String?, credit: MuxCredit, size: Int,
        now: ContinuousClock.Instant
    ) -> [MuxAction] {
        guard isPeerID(id) else { return violation("the peer opened stream \(id) with this side's parity") }
        guard id > highestPeerID else { return violation("stream \(id) opened out of order or twice") }
        highestPeerID = id
        if goAwaySent {
            return refuse(id, StreamKitError(code: .storeUnavailable, message: "the server is going away"), now)
        }
        guard peerOpenCount < limits.maxConcurrentStreams else {
            return refuse(
                id,
                StreamKitError(
                    code: .overloaded, message: "too many open streams on this connection",
                    limit: limits.maxConcurrentStreams, value: peerOpenCount + 1),
                now)
        }
        guard buffered + size <= limits.maxBufferedBytes else {
            return refuse(id, overloadedBuffer(size), now)
        }
        var stream = MuxStream()
        stream.sendMessages = credit.messages
        stream.sendBytes = credit.bytes
        stream.recvMessages = limits.streamQueueDepth
        stream.recvBytes = limits.streamWindowBytes
        stream.push(size)
        buffered += size
        streams[id] = stream
        peerOpenCount += 1
        lastAcceptedPeerID = id
        var actions: [MuxAction] = [
            .streamOpened(streamID: id, store: store, request: request, traceparent: traceparent)
        ]
        let grant = MuxCredit(messages: limits.streamQueueDepth, bytes: limits.streamWindowBytes)
        if let frame = try? encode(.credit(streamID: id, credit: grant)) { actions.append(.send(frame)) }
        return actions
    }

    private func handleData(
        _ id: UInt64, message: WireMessage, size: Int, now: ContinuousClock.Instant
    ) -> [MuxAction] {
        guard var stream = streams[id] else {
            if tombstones.contains(id) { return [] }
            return violation("data for unknown stream \(id)")
        }
        guard !stream.remoteClosed else {
            return resetLocally(
                id, StreamKitError(code: .invalidArgument, message: "data after close on stream \(id)"), now)
        }
        guard stream.recvMessages >= 1, stream.recvBytes > 0 else {
            let depth = limits.streamQueueDepth
            return resetLocally(
                id,
                StreamKitError(
                    code: .limitExceeded,
                    message: "stream \(id) sent without credit (queue depth \(depth), window "
                        + "\(limits.streamWindowBytes) bytes)",
                    limit: stream.recvMessages >= 1 ? limits.streamWindowBytes : depth,
                    value: stream.recvMessages >= 1 ? stream.pendingBytes + size : stream.pendingCount + 1),
                now)
        }
        guard buffered + size <= limits.maxBufferedBytes else {
            return resetLocally(id, overloadedBuffer(size), now)
        }
        stream.recvMessages -= 1
        stream.recvBytes -= size
        stream.push(size)
        buffered += size
        streams[id] = stream
        return [.message(streamID: id, message: message)]
    }

    private func handleGoAway(last: UInt64, error: StreamKitError?, now: ContinuousClock.Instant) -> [MuxAction] {
        let limit = min(last, peerLastStreamID ?? .max)
        peerLastStreamID = limit
        var actions: [MuxAction] = []
        let refused = streams.keys.filter { !isPeerID($0) && $0 > limit }.sorted()
        for id in refused {
            remove(id, now: now)
            let reason = StreamKitError(
                code: .storeUnavailable, message: "the peer is going away and did not accept stream \(id)")
            actions.append(.streamReset(streamID: id, error: reason))
        }
        actions.append(.goAwayReceived(lastStreamID: last, error: error))
        return actions
    }

    // MARK: - Helpers

    private func isPeerID(_ id: UInt64) -> Bool { (id & 1 == 1) == (role == .server) }

    private func wasUsed(_ id: UInt64) -> Bool {
        guard id != 0 else { return false }
        return isPeerID(id) ? id <= highestPeerID : id < nextLocalID
    }

    /// A close, error or credit frame for a stream that is not active: ignored when the id was used (late),
    /// a violation when it never was.
    private func lateFrame(_ id: UInt64, _ what: String) -> [MuxAction] {
        wasUsed(id) || tombstones.contains(id) ? [] : violation("\(what) for unknown stream \(id)")
    }

    private func overloadedBuffer(_ size: Int) -> StreamKitError {
        StreamKitError(
            code: .overloaded, message: "the connection's received-bytes buffer is full",
            limit: limits.maxBufferedBytes, value: buffered + size)
    }

    private func encode(_ frame: MuxFrame) throws(StreamKitError) -> [UInt8] {
        do throws(WireError) {
            try frame.encode(into: &scratch, encoder: &encoder, limits: limits)
        } catch {
            throw StreamKitError(code: .invalidArgument, message: "cannot encode a mux frame: \(error)")
        }
        return Array(scratch.bytes[WireBuffer.headroom...])
    }

    private func errorFrame(_ id: UInt64, _ error: StreamKitError) -> [UInt8]? {
        if let frame = try? encode(.error(streamID: id, error: error)) { return frame }
        // An error too large to encode (a huge message): send its code alone.
        return try? encode(.error(streamID: id, error: StreamKitError(code: error.code, message: "")))
    }

    /// Refuses a peer's open: error frame, tombstone.
    private func refuse(_ id: UInt64, _ error: StreamKitError, _ now: ContinuousClock.Instant) -> [MuxAction] {
        tombstones.insert(id, now: now)
        return errorFrame(id, error).map { [.send($0)] } ?? []
    }

    /// Ends one stream for a limit or stream-level violation: error frame to the peer, reset to the application.
    private func resetLocally(
        _ id: UInt64, _ error: StreamKitError, _ now: ContinuousClock.Instant
    ) -> [MuxAction] {
        remove(id, now: now)
        var actions: [MuxAction] = []
        if let frame = errorFrame(id, error) { actions.append(.send(frame)) }
        actions.append(.streamReset(streamID: id, error: error))
        return actions
    }

    private func remove(_ id: UInt64, now: ContinuousClock.Instant) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        buffered -= stream.pendingBytes
        if isPeerID(id) { peerOpenCount -= 1 } else { localOpenCount -= 1 }
        tombstones.insert(id, now: now)
    }

    private func retireIfDone(_ id: UInt64, now: ContinuousClock.Instant) {
        if streams[id]?.isDone == true { remove(id, now: now) }
    }

    private func checkOpen() throws(StreamKitError) {
        if let closedError {
            throw StreamKitError(code: .storeUnavailable, message: "the connection is closed: \(closedError.message)")
        }
    }

    private func violation(_ message: String) -> [MuxAction] {
        fail(StreamKitError(code: .invalidArgument, message: "protocol violation: \(message)"), sendGoAway: true)
    }

    /// Ends the connection: go-away (unless the peer is gone), every active stream reset, close.
    private func fail(_ error: StreamKitError, sendGoAway: Bool) -> [MuxAction] {
        var actions: [MuxAction] = []
        if sendGoAway, let frame = try? encode(.goAway(lastStreamID: lastAcceptedPeerID, error: error)) {
            actions.append(.send(frame))
        }
        closedError = error
        for id in streams.keys.sorted() {
            actions.append(.streamReset(streamID: id, error: error))
        }
        streams.removeAll()
        buffered = 0
        localOpenCount = 0
        peerOpenCount = 0
        actions.append(.closeConnection(error: error))
        return actions
    }
}

// MARK: - Sendable

@available(*, unavailable, message: "MuxConnection is driven by one owner; confine it to an event loop or actor")
extension MuxConnection: Sendable {}
