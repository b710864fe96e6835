import PostgresNIO
import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension StreamKitError {
    /// The database holds a schema newer than this build knows.
    static func newerSchema(found: Int, known: Int) -> StreamKitError {
        StreamKitError(
            code: .storage,
            message: "the PostgreSQL schema is version \(found); this StreamKit knows up to \(known): upgrade StreamKit"
        )
    }

    /// What a failed database call means to a caller: `storeUnavailable` (retryable) when the database could not
    /// be reached, timed out or shut down; `storage` otherwise. The outcome of a commit whose answer was lost is
    /// unknown: nothing is acknowledged, and the store's follower picks the transaction up if it did commit.
    static func postgres(_ error: any Error, storeID: UUID?, doing what: String) -> StreamKitError {
        if let error = error as? StreamKitError { return error }
        let state = PostgresFailure.sqlState(of: error)
        let unavailable = PostgresFailure.isUnavailable(error)
        var mapped = StreamKitError(
            code: unavailable ? .storeUnavailable : .storage,
            message:
                "PostgreSQL \(what) failed: \(PostgresFailure.describe(error))\(state.map { " (SQLSTATE \($0))" } ?? "")"
        )
        mapped.storeID = storeID
        return mapped
    }
}

/// Reading PostgreSQL errors.
enum PostgresFailure {
    /// The SQLSTATE of a server error.
    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] }
        if let error = error as? PostgresTransactionError {
            for inner in [error.closureError, error.commitError, error.beginError] {
                if let inner, let state = sqlState(of: inner) { return state }
            }
        }
        return nil
    }

    /// Errors after which the same transaction may succeed when run again at once: serialization failures,
    /// deadlocks, and a unique key taken by a concurrent insert of the same new segment.
    static func isRetryableConflict(_ error: any Error) -> Bool {
        guard let state = sqlState(of: error) else { return false }
        return state == "40001" || state == "40P01" || state == "23505"
    }

    /// Errors that mean the database cannot be used right now (down, restarting, unreachable, timed out).
    static func isUnavailable(_ error: any Error) -> Bool {
        if let state = sqlState(of: error) {
            // 08: connection exception; 57: operator intervention (shutdown, statement timeout); 53: resources.
            return state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53")
        }
        if let error = error as? PostgresTransactionError {
            for inner in [error.closureError, error.commitError, error.beginError] {
                if let inner, isUnavailable(inner) { return true }
            }
            return false
        }
        if let error = error as? PSQLError {
            switch error.code {
            case .serverClosedConnection, .connectionError, .uncleanShutdown, .clientClosedConnection,
                .queryCancelled, .poolClosed:
                return true
            default:
                return false
            }
        }
        if error is CancellationError { return true }
        return true  // a socket error from NIO and the like
    }

    /// A short description (server message when there is one).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        if let error = error as? PostgresTransactionError {
            for inner in [error.closureError, error.commitError, error.beginError] {
                if let inner { return describe(inner) }
            }
        }
        return "\(error)"
    }
}

extension StreamKitError {
    /// The PostgreSQL log was closed.
    static let postgresClosed = StreamKitError(code: .storeClosing, message: "the PostgreSQL log is closed")
}
