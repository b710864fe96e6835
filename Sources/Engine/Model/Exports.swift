@_exported public import struct StreamKitLogFiles.Entry
@_exported public import struct StreamKitLogFiles.Record
@_exported public import enum StreamKitLogFiles.Durability
@_exported public import struct StreamKitLogFiles.Payload
@_exported public import enum StreamKitLogFiles.LogRetention
