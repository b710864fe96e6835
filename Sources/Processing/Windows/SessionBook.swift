/// The open session windows of one iterator, per key, on integer nanosecond positions.
///
/// A value at `p` joins every session of its key that it comes within `gap` of
/// (`start - gap < p < last + gap`), merging them if it bridges several; otherwise it opens a new
/// session. A session ends at `last + gap` (exclusive) and closes once the watermark reaches that.
/// A value whose own session would already be closed (`p + gap <= closedThrough`) is late. At most
/// `maxSessions` sessions are open: beyond that the earliest-ending one is closed early.
@usableFromInline
struct SessionBook<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline
    struct Closed: Sendable {
        @usableFromInline var key: Key
        @usableFromInline var start: Int64
        @usableFromInline var end: Int64
        @usableFromInline var values: [Value]

        @inlinable
        init(key: Key, start: Int64, end: Int64, values: [Value]) {
            self.key = key
            self.start = start
            self.end = end
            self.values = values
        }
    }

    @usableFromInline
    struct Session: Sendable {
        @usableFromInline var key: Key
        @usableFromInline var start: Int64
        @usableFromInline var last: Int64
        @usableFromInline var values: [Value]

        @inlinable
        init(key: Key, start: Int64, last: Int64, values: [Value]) {
            self.key = key
            self.start = start
            self.last = last
            self.values = values
        }
    }

    @usableFromInline let gap: Int64
    @usableFromInline let maxSessions: Int
    @usableFromInline var sessions: [Int: Session] = [:]
    @usableFromInline var sessionsByKey: [Key: [Int]] = [:]
    /// (end, session id); entries whose end no longer matches their session are stale and skipped.
    @usableFromInline var ends = MinHeap()
    @usableFromInline var nextID = 0
    @usableFromInline var closedThrough: Int64 = .min

    @inlinable
    init(gap: Int64, maxSessions: Int) {
        self.gap = Swift.max(1, gap)
        self.maxSessions = Swift.max(1, maxSessions)
    }

    /// The earliest end among open sessions (possibly earlier than the true one after an extension;
    /// a timer waking at a stale end simply finds nothing to close).
    @inlinable
    var nextEnd: Int64? { ends.top?.key }

    /// Adds `value`; returns `nil` when late, else the sessions closed early to respect `maxSessions`.
    @inlinable
    mutating func insert(_ value: Value, key: Key, at position: Int64) -> [Closed]? {
        if position + gap <= closedThrough { return nil }
        let ids = sessionsByKey[key] ?? []
        let joined = ids.filter { id in
            guard let session = sessions[id] else { return false }
            return session.start - gap < position && position < session.last + gap
        }
        if joined.isEmpty {
            nextID += 1
            sessions[nextID] = Session(key: key, start: position, last: position, values: [value])
            sessionsByKey[key, default: []].append(nextID)
            ends.insert(.init(key: position + gap, id: nextID))
        } else {
            var merged = joined.compactMap { sessions[$0] }.sorted { $0.start < $1.start }
            var session = merged.removeFirst()
            for other in merged {
                session.values += other.values
                session.last = Swift.max(session.last, other.last)
            }
            session.values.append(value)
            session.start = Swift.min(session.start, position)
            session.last = Swift.max(session.last, position)
            let keep = joined[0]
            let previousEnd = sessions[keep].map { $0.last + gap }
            for id in joined.dropFirst() { sessions[id] = nil }
            sessions[keep] = session
            sessionsByKey[key] = ids.filter { $0 == keep || !joined.contains($0) }
            if previousEnd != session.last + gap {
                ends.insert(.init(key: session.last + gap, id: keep))
            }
        }
        compactIfNeeded()
        var evicted: [Closed] = []
        while sessions.count > maxSessions, let closed = popEarliest() {
            evicted.append(closed)
        }
        return evicted
    }

    /// Closes the sessions that end at or before `watermark`, earliest first.
    @inlinable
    mutating func close(through watermark: Int64) -> [Closed] {
        closedThrough = Swift.max(closedThrough, watermark)
        var closed: [Closed] = []
        dropStaleTops()
        while let top = ends.top, top.key <= closedThrough, let session = popEarliest() {
            closed.append(session)
            dropStaleTops()
        }
        return closed
    }

    /// Closes every session, earliest end first.
    @inlinable
    mutating func closeAll() -> [Closed] {
        var closed: [Closed] = []
        while let session = popEarliest() { closed.append(session) }
        return closed
    }

    /// Removes and returns the open session with the earliest end, skipping stale heap entries.
    @inlinable
    mutating func popEarliest() -> Closed? {
        while let top = ends.popTop() {
            guard let session = sessions[top.id], session.last + gap == top.key else { continue }
            sessions[top.id] = nil
            sessionsByKey[session.key]?.removeAll { $0 == top.id }
            if sessionsByKey[session.key]?.isEmpty == true { sessionsByKey[session.key] = nil }
            return Closed(key: session.key, start: session.start, end: session.last + gap, values: session.values)
        }
        return nil
    }

    /// Pops heap entries that no longer match their session, so the top is a live session's end.
    @inlinable
    mutating func dropStaleTops() {
        while let top = ends.top {
            if let session = sessions[top.id], session.last + gap == top.key { return }
            ends.popTop()
        }
    }

    /// Drops stale heap entries once they outnumber the live ones, so the heap stays bounded.
    @inlinable
    mutating func compactIfNeeded() {
        guard ends.count > 2 * sessions.count + 32 else { return }
        ends.rebuild(sessions.map { .init(key: $0.value.last + gap, id: $0.key) })
    }
}
