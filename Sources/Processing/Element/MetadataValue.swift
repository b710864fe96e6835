/// One value in an item's ``Metadata``: a string, integer, floating-point number, Boolean or duration.
///
/// Literals convert directly, so `metadata["partition"] = 3` and `metadata["source"] = "orders"` work.
public enum MetadataValue: Sendable, Hashable {
    /// A string.
    case string(String)
    /// An integer.
    case int(Int)
    /// A floating-point number.
    case double(Double)
    /// A Boolean.
    case bool(Bool)
    /// A duration.
    case duration(Duration)

    /// The string, or `nil` when the value is of another kind.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, or `nil` when the value is of another kind.
    public var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The floating-point number (integers are widened), or `nil` when the value is of another kind.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }

    /// The Boolean, or `nil` when the value is of another kind.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The duration, or `nil` when the value is of another kind.
    public var durationValue: Duration? {
        if case .duration(let value) = self { return value }
        return nil
    }
}

// MARK: - Literals

extension MetadataValue: ExpressibleByStringLiteral {
    /// Creates a `.string` value from a literal.
    /// - Parameter value: The literal.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension MetadataValue: ExpressibleByIntegerLiteral {
    /// Creates an `.int` value from a literal.
    /// - Parameter value: The literal.
    public init(integerLiteral value: Int) { self = .int(value) }
}

extension MetadataValue: ExpressibleByFloatLiteral {
    /// Creates a `.double` value from a literal.
    /// - Parameter value: The literal.
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension MetadataValue: ExpressibleByBooleanLiteral {
    /// Creates a `.bool` value from a literal.
    /// - Parameter value: The literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

// MARK: - CustomStringConvertible

extension MetadataValue: CustomStringConvertible {
    /// The value without its kind, e.g. `orders`, `3`, `0.5`, `true`, `2.0 seconds`.
    public var description: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): String(value)
        case .duration(let value): String(describing: value)
        }
    }
}
