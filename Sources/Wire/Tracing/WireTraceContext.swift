public import Tracing

/// Carries W3C trace context across the wire: the `traceparent` of a stream's open frame.
///
/// The conversion goes through the bootstrapped instrument (`InstrumentationSystem`), so it follows whatever
/// tracing backend the application chose (e.g. swift-otel's W3C propagator); with none bootstrapped nothing
/// is sent and nothing is extracted.
public enum WireTraceContext {
    /// The header name a W3C propagator reads and writes.
    public static let traceparentKey = "traceparent"

    /// The `traceparent` to send for a context, if the instrument produces one.
    ///
    /// - Parameter context: The caller's context (usually `ServiceContext.current`).
    /// - Returns: The W3C `traceparent` text, or nil.
    public static func traceparent(of context: ServiceContext?) -> String? {
        guard let context else { return nil }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier[traceparentKey]
    }

    /// The context a received `traceparent` stands for, on top of a top-level context.
    ///
    /// - Parameter traceparent: What the open frame carried.
    /// - Returns: The extracted context (the top-level one when nothing was sent).
    public static func context(traceparent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let traceparent else { return context }
        InstrumentationSystem.instrument.extract(
            [traceparentKey: traceparent], into: &context, using: DictionaryExtractor())
        return context
    }
}

/// Writes injected values into a dictionary.
struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

/// Reads values from a dictionary.
struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
