import FoundationEssentials

/// What a client's open frame asks of the server: the request, the store it addresses, and its trace context.
struct StreamOpen: Sendable {
    /// The store the stream works on; nil for connection-level requests (`hello`).
    var store: UUID?
    /// The stream's first request (`publish`, `consumeSegment`, `produceOpen` …).
    var request: WireMessage
    /// The caller's W3C trace context, if it sent one.
    var traceparent: String?
}
