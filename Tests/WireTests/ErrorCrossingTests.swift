import StreamKitEngine
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A `StreamKitError` crosses the wire and comes back equal, with its code, fields and retryability.
struct ErrorCrossingTests {
    @Test("every error code crosses the wire as the same error", arguments: WireFixtures.allErrorCodes)
    func everyCodeRoundTrips(code: StreamKitError.Code) throws {
        let bare = StreamKitError(code: code, message: "")
        let full = StreamKitError(
            code: code, message: "what went wrong — \(WireFixtures.unicode)",
            storeID: UUID(uuid: (9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6)), expectedSequence: .max,
            gotSequence: 0, limit: .min, value: .max)
        for error in [bare, full] {
            let decoded = try WireFixtures.roundTrip(.error(error))
            #expect(decoded == .error(error))
            guard case .error(let rebuilt) = decoded else { continue }
            #expect(rebuilt.code == code)
            #expect(rebuilt.isRetryable == error.isRetryable)
        }
    }

    @Test("the retryable flag on the wire matches the code")
    func retryableFlagIsEncoded() throws {
        for code in WireFixtures.allErrorCodes {
            let error = StreamKitError(code: code, message: "")
            let frame = try WireFixtures.encode(.error(error))
            // header (3) + code name + empty message (1) → the flag.
            let flagIndex = 3 + 1 + code.name.utf8.count + 1
            #expect(frame[flagIndex] == (error.isRetryable ? 1 : 0), "\(code)")
        }
    }

    @Test("a code this build does not know becomes internalError and keeps its name in the message")
    func unknownCodeBecomesInternalError() throws {
        let body = WireFixtures.string("quotaExhausted") + WireFixtures.string("too many") + [1, 0]
        let decoded = try WireDecoder().decode(
            frame: WireFixtures.frame(kind: WireMessageKind.error.rawValue, body: body))
        #expect(decoded == .error(StreamKitError(code: .internalError, message: "quotaExhausted: too many")))
    }

    @Test("unknown error field bits are refused")
    func unknownErrorFieldBitsAreRefused() {
        let body = WireFixtures.string("notFound") + WireFixtures.string("") + [0, 0x20]
        let error = WireFixtures.decodeError(WireFixtures.frame(kind: WireMessageKind.error.rawValue, body: body))
        #expect(error?.code == .malformed)
    }

    @Test("an error message over the string limit is clipped at a character boundary, not refused")
    func longErrorMessageIsClipped() throws {
        let limits = WireLimits(maxStringBytes: 16)
        let error = StreamKitError(code: .internalError, message: "ab🚀🚀🚀🚀🚀")
        var encoder = WireEncoder(limits: limits)
        let decoded = try WireDecoder(limits: limits).decode(frame: encoder.encode(.error(error)))
        #expect(decoded == .error(StreamKitError(code: .internalError, message: "ab🚀🚀🚀")))
    }
}
