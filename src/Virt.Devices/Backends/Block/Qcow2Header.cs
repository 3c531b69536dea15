using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Virt.Devices;

/// <summary>
/// The header of a qcow2 image (QEMU's docs/interop/qcow2.txt, "Header" and "Header extensions"), parsed and checked
/// against the file. Every field is big-endian. Field names in messages are the specification's.
/// </summary>
internal sealed class Qcow2Header
{
    /// <summary>"QFI\xfb".</summary>
    public const uint Magic = 0x514649FB;

    /// <summary>The length of a version 2 header; version 3 has the fields up to <c>header_length</c> too.</summary>
    public const int Version2Length = 72;

    /// <summary>The shortest version 3 header (up to and including <c>header_length</c>).</summary>
    public const int Version3MinLength = 104;

    /// <summary>Smallest cluster (512 bytes): a cluster holds at least one sector.</summary>
    public const int MinClusterBits = 9;

    /// <summary>Largest cluster (2 MiB): QEMU's limit, which keeps an L2 table and a cluster buffer reasonable.</summary>
    public const int MaxClusterBits = 21;

    /// <summary>Refcounts are at most 64 bits wide (order 6).</summary>
    public const int MaxRefcountOrder = 6;

    /// <summary>QEMU's limit on the L1 table (32 MiB); also caps the memory an image makes us allocate.</summary>
    public const long MaxL1TableBytes = 32L << 20;

    /// <summary>QEMU's limit on the refcount table (8 MiB).</summary>
    public const long MaxRefcountTableBytes = 8L << 20;

    /// <summary>The largest virtual size accepted: 2^56 bytes, the reach of the 56-bit host offsets in table entries.</summary>
    public const long MaxSizeInBytes = 1L << 56;

    /// <summary>A backing file name is at most 1023 bytes (the specification's limit).</summary>
    public const int MaxBackingFileNameBytes = 1023;

    /// <summary>Header extension type: end of the extension area.</summary>
    public const uint ExtensionEnd = 0;

    /// <summary>Header extension type: the backing file's format name.</summary>
    public const uint ExtensionBackingFormat = 0xE2792ACA;

    /// <summary>Incompatible feature bit 0: refcounts may be stale (lazy refcounts were in use when the image was left).</summary>
    public const ulong IncompatibleDirty = 1UL << 0;

    /// <summary>Incompatible feature bit 1: QEMU found the image corrupt; it may be opened read-only only.</summary>
    public const ulong IncompatibleCorrupt = 1UL << 1;

    /// <summary>Incompatible feature bit 2: the data lives in an external file (not supported).</summary>
    public const ulong IncompatibleExternalData = 1UL << 2;

    /// <summary>Incompatible feature bit 3: the <c>compression_type</c> field is meaningful.</summary>
    public const ulong IncompatibleCompressionType = 1UL << 3;

    /// <summary>The incompatible features this reader understands.</summary>
    public const ulong KnownIncompatible = IncompatibleDirty | IncompatibleCorrupt | IncompatibleCompressionType;

    /// <summary>Compression type 0: zlib (raw deflate).</summary>
    public const byte CompressionZlib = 0;

    private const int OffsetVersion = 4;
    private const int OffsetBackingFileOffset = 8;
    private const int OffsetBackingFileSize = 16;
    private const int OffsetClusterBits = 20;
    private const int OffsetSize = 24;
    private const int OffsetCryptMethod = 32;
    private const int OffsetL1Size = 36;
    private const int OffsetL1TableOffset = 40;
    private const int OffsetRefcountTableOffset = 48;
    private const int OffsetRefcountTableClusters = 56;
    private const int OffsetSnapshotCount = 60;
    private const int OffsetSnapshotsOffset = 64;
    private const int OffsetIncompatibleFeatures = 72;
    private const int OffsetCompatibleFeatures = 80;
    private const int OffsetAutoclearFeatures = 88;
    private const int OffsetRefcountOrder = 96;
    private const int OffsetHeaderLength = 100;
    private const int OffsetCompressionType = 104;

    /// <summary>The header's file offset of <c>refcount_table_offset</c> (rewritten when the table grows).</summary>
    public const int RefcountTableOffsetField = OffsetRefcountTableOffset;

    /// <summary>The header's file offset of <c>autoclear_features</c> (cleared by a writer that does not know them).</summary>
    public const int AutoclearFeaturesField = OffsetAutoclearFeatures;

    private Qcow2Header()
    {
    }

    public int Version { get; private init; }

    public int ClusterBits { get; private init; }

    public long SizeInBytes { get; private init; }

    public int L1Size { get; private init; }

    public long L1TableOffset { get; private init; }

    public long RefcountTableOffset { get; private init; }

    public int RefcountTableClusters { get; private init; }

    public int SnapshotCount { get; private init; }

    public ulong IncompatibleFeatures { get; private init; }

    public ulong CompatibleFeatures { get; private init; }

    public ulong AutoclearFeatures { get; private init; }

    public int RefcountOrder { get; private init; }

    public int HeaderLength { get; private init; }

    public string? BackingFile { get; private init; }

    public string? BackingFormat { get; private init; }

    /// <summary>Reads and checks the header of an open image.</summary>
    /// <param name="handle">The image file.</param>
    /// <param name="fileLength">The file's length.</param>
    /// <param name="path">The file's path, for messages.</param>
    /// <returns>The header.</returns>
    /// <exception cref="DiskImageFormatException">A field is out of range or points outside the file.</exception>
    public static Qcow2Header Read(SafeFileHandle handle, long fileLength, string path)
    {
        byte[] fixedPart = new byte[Version3MinLength];
        int got = ReadFully(handle, fixedPart, 0);
        if (got >= 4 && BinaryPrimitives.ReadUInt32BigEndian(fixedPart) != Magic)
        {
            throw Bad(path, "magic", $"0x{BinaryPrimitives.ReadUInt32BigEndian(fixedPart):X8} is not the qcow2 magic 0x{Magic:X8}");
        }

        if (got < Version2Length)
        {
            throw Bad(path, "header", $"the file is {fileLength} bytes, shorter than the {Version2Length}-byte header");
        }

        uint version = U32(fixedPart, OffsetVersion);
        if (version is not (2 or 3))
        {
            throw Bad(path, "version", $"{version} is not supported (2 and 3 are)");
        }

        if (version == 3 && got < Version3MinLength)
        {
            throw Bad(path, "header", $"the file is {fileLength} bytes, shorter than the {Version3MinLength}-byte version 3 header");
        }

        uint clusterBits = U32(fixedPart, OffsetClusterBits);
        if (clusterBits is < MinClusterBits or > MaxClusterBits)
        {
            throw Bad(path, "cluster_bits", $"{clusterBits} is outside {MinClusterBits}..{MaxClusterBits} (512 B to 2 MiB clusters)");
        }

        long clusterSize = 1L << (int)clusterBits;
        int headerLength = Version2Length;
        int refcountOrder = 4;
        ulong incompatible = 0, compatible = 0, autoclear = 0;
        if (version == 3)
        {
            uint length = U32(fixedPart, OffsetHeaderLength);
            if (length < Version3MinLength || length % 8 != 0 || length > clusterSize)
            {
                throw Bad(path, "header_length", $"{length} is not a multiple of 8 between {Version3MinLength} and the cluster size {clusterSize}");
            }

            uint order = U32(fixedPart, OffsetRefcountOrder);
            if (order > MaxRefcountOrder)
            {
                throw Bad(path, "refcount_order", $"{order} would make refcounts {(order < 32 ? (1L << (int)order).ToString(System.Globalization.CultureInfo.InvariantCulture) : "more than 2^31")} bits wide; at most 64 bits (order {MaxRefcountOrder})");
            }

            headerLength = (int)length;
            refcountOrder = (int)order;
            incompatible = U64(fixedPart, OffsetIncompatibleFeatures);
            compatible = U64(fixedPart, OffsetCompatibleFeatures);
            autoclear = U64(fixedPart, OffsetAutoclearFeatures);
        }

        // The header, its extensions and the backing file name all lie in the first cluster.
        byte[] first = new byte[(int)Math.Min(clusterSize, fileLength)];
        ReadFully(handle, first, 0);
        if (headerLength > first.Length)
        {
            throw Bad(path, "header_length", $"{headerLength} reaches past the end of the {fileLength}-byte file");
        }

        if ((incompatible & ~KnownIncompatible) != 0)
        {
            throw Bad(path, "incompatible_features", $"0x{incompatible:X} has bits this reader does not support (0x{incompatible & ~KnownIncompatible:X}: external data file, extended L2 entries or unknown)");
        }

        if (headerLength > OffsetCompressionType && first[OffsetCompressionType] != CompressionZlib)
        {
            throw Bad(path, "compression_type", $"{first[OffsetCompressionType]} is not supported (only 0, zlib)");
        }

        uint crypt = U32(first, OffsetCryptMethod);
        if (crypt != 0)
        {
            throw Bad(path, "crypt_method", $"{crypt}: encrypted images are not supported");
        }

        ulong size = U64(first, OffsetSize);
        if (size > MaxSizeInBytes)
        {
            throw Bad(path, "size", $"{size} bytes is beyond the largest supported size of {MaxSizeInBytes} bytes");
        }

        uint l1Size = U32(first, OffsetL1Size);
        long l2Coverage = clusterSize * (clusterSize / 8);
        long l1Needed = (long)((size + (ulong)l2Coverage - 1) / (ulong)l2Coverage);
        if (l1Size < l1Needed)
        {
            throw Bad(path, "l1_size", $"{l1Size} entries do not cover the size of {size} bytes ({l1Needed} needed)");
        }

        if (l1Size * 8L > MaxL1TableBytes)
        {
            throw Bad(path, "l1_size", $"{l1Size} entries make an L1 table larger than {MaxL1TableBytes} bytes");
        }

        ulong l1Offset = U64(first, OffsetL1TableOffset);
        CheckTable(path, "l1_table_offset", l1Offset, l1Size * 8L, clusterSize, fileLength);

        ulong refcountTableOffset = U64(first, OffsetRefcountTableOffset);
        uint refcountTableClusters = U32(first, OffsetRefcountTableClusters);
        if (refcountTableClusters == 0 || refcountTableClusters * clusterSize > MaxRefcountTableBytes)
        {
            throw Bad(path, "refcount_table_clusters", $"{refcountTableClusters} clusters is not between 1 and the {MaxRefcountTableBytes}-byte limit");
        }

        CheckTable(path, "refcount_table_offset", refcountTableOffset, refcountTableClusters * clusterSize, clusterSize, fileLength);

        uint snapshotCount = U32(first, OffsetSnapshotCount);
        ulong snapshotsOffset = U64(first, OffsetSnapshotsOffset);
        if (snapshotCount > 0)
        {
            CheckTable(path, "snapshots_offset", snapshotsOffset, 1, clusterSize, fileLength);
        }

        ulong backingOffset = U64(first, OffsetBackingFileOffset);
        uint backingSize = U32(first, OffsetBackingFileSize);
        string? backingFile = null;
        if (backingOffset != 0)
        {
            if (backingSize is 0 or > MaxBackingFileNameBytes)
            {
                throw Bad(path, "backing_file_size", $"{backingSize} is not between 1 and {MaxBackingFileNameBytes}");
            }

            if (backingOffset < (ulong)headerLength || backingOffset + backingSize > (ulong)first.Length)
            {
                throw Bad(path, "backing_file_offset", $"{backingOffset} (+{backingSize}) is not within the first cluster after the header");
            }

            backingFile = Encoding.UTF8.GetString(first, (int)backingOffset, (int)backingSize);
        }

        string? backingFormat = ReadExtensions(path, first, headerLength, backingFile is null ? first.Length : (int)backingOffset);
        return new Qcow2Header
        {
            Version = (int)version,
            ClusterBits = (int)clusterBits,
            SizeInBytes = (long)size,
            L1Size = (int)l1Size,
            L1TableOffset = (long)l1Offset,
            RefcountTableOffset = (long)refcountTableOffset,
            RefcountTableClusters = (int)refcountTableClusters,
            SnapshotCount = (int)Math.Min(snapshotCount, int.MaxValue),
            IncompatibleFeatures = incompatible,
            CompatibleFeatures = compatible,
            AutoclearFeatures = autoclear,
            RefcountOrder = refcountOrder,
            HeaderLength = headerLength,
            BackingFile = backingFile,
            BackingFormat = backingFormat,
        };
    }

    /// <summary>Builds the first cluster of a new image (header, backing format extension, backing file name).</summary>
    /// <returns>The header cluster's bytes (one cluster long).</returns>
    public static byte[] Build(int version, int clusterBits, long sizeInBytes, int l1Size, long l1TableOffset, long refcountTableOffset, int refcountTableClusters, string? backingFile, string? backingFormat)
    {
        int clusterSize = 1 << clusterBits;
        byte[] header = new byte[clusterSize];
        BinaryPrimitives.WriteUInt32BigEndian(header, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(OffsetVersion), (uint)version);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(OffsetClusterBits), (uint)clusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(OffsetSize), (ulong)sizeInBytes);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(OffsetL1Size), (uint)l1Size);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(OffsetL1TableOffset), (ulong)l1TableOffset);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(OffsetRefcountTableOffset), (ulong)refcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(OffsetRefcountTableClusters), (uint)refcountTableClusters);
        int position = Version2Length;
        if (version == 3)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(OffsetRefcountOrder), 4);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(OffsetHeaderLength), Version3MinLength);
            position = Version3MinLength;
        }

        if (backingFormat is not null)
        {
            byte[] name = Encoding.ASCII.GetBytes(backingFormat);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(position), ExtensionBackingFormat);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(position + 4), (uint)name.Length);
            name.CopyTo(header.AsSpan(position + 8));
            position += 8 + Align8(name.Length);
        }

        // The end-of-extensions marker (type 0, length 0) is already zero.
        position += 8;
        if (backingFile is not null)
        {
            byte[] name = Encoding.UTF8.GetBytes(backingFile);
            BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(OffsetBackingFileOffset), (ulong)position);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(OffsetBackingFileSize), (uint)name.Length);
            name.CopyTo(header.AsSpan(position));
        }

        return header;
    }

    private static string? ReadExtensions(string path, byte[] first, int start, int end)
    {
        string? backingFormat = null;
        int position = start;
        while (position + 8 <= end)
        {
            uint type = U32(first, position);
            uint length = U32(first, position + 4);
            if (type == ExtensionEnd)
            {
                break;
            }

            if (length > (uint)(end - position - 8))
            {
                throw Bad(path, "header_extension", $"extension 0x{type:X8} at {position} with {length} bytes runs past the header area");
            }

            if (type == ExtensionBackingFormat)
            {
                backingFormat = Encoding.ASCII.GetString(first, position + 8, (int)length);
            }

            // Unknown extensions are optional by the specification and skipped.
            position += 8 + Align8((int)length);
        }

        return backingFormat;
    }

    private static void CheckTable(string path, string field, ulong offset, long length, long clusterSize, long fileLength)
    {
        if (offset % (ulong)clusterSize != 0)
        {
            throw Bad(path, field, $"0x{offset:X} is not aligned to the {clusterSize}-byte cluster");
        }

        if (offset == 0 || offset > (ulong)fileLength || (ulong)length > (ulong)fileLength - offset)
        {
            throw Bad(path, field, $"0x{offset:X} (+{length} bytes) is not within the {fileLength}-byte file");
        }
    }

    private static int Align8(int length) => (length + 7) & ~7;

    private static uint U32(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset));

    private static ulong U64(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(offset));

    private static DiskImageFormatException Bad(string path, string field, string detail) => new(path, field, detail);

    private static int ReadFully(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n == 0)
            {
                break;
            }

            done += n;
        }

        return done;
    }
}
