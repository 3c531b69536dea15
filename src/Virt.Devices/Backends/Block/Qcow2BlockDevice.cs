using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.Win32.SafeHandles;

namespace Virt.Devices;

/// <summary>
/// A qcow2 image, version 2 or 3 (QEMU's docs/interop/qcow2.txt), read and written: two-level cluster tables (L1, L2),
/// refcounts of any width, clusters of 512 bytes to 2 MiB, backing files (raw or qcow2, opened read-only), zero clusters
/// (version 3), compressed clusters (read; a write to one allocates a normal cluster).
/// </summary>
/// <remarks>
/// <para>
/// New clusters are appended at the end of the file; their refcounts are set before the table entries that point at
/// them, so an interrupted write can leak a cluster but never leave a table pointing at a cluster counted free. Images
/// written here pass <c>qemu-img check</c> without errors or leaks (the acceptance tests check it).
/// </para>
/// <para>
/// Refused: encryption, external data files, extended L2 entries, compression types other than zlib, unknown
/// incompatible features. Images with internal snapshots, and images marked dirty (stale lazy refcounts) or corrupt,
/// open read-only only: a writer would need to copy shared clusters or rebuild the refcounts first (<c>qemu-img check
/// -r all</c> does the latter).
/// </para>
/// <para>
/// The asynchronous members complete synchronously: the metadata updates are ordered writes, and the controllers use
/// the synchronous path anyway.
/// </para>
/// <para>
/// Thread-safe: reads, writes and flushes take one lock, because a read fills the metadata caches. A read-only base
/// image is shared by a machine and its forks (<c>Machine.Fork</c>), which may run on different threads.
/// </para>
/// </remarks>
public sealed class Qcow2BlockDevice : IBlockDevice
{
    /// <summary>The deepest chain of backing files opened (an image, its backing file, that one's, ...).</summary>
    public const int MaxBackingChainDepth = 16;

    /// <summary>The cluster size of images created without one: 64 KiB, QEMU's default.</summary>
    public const int DefaultClusterSizeInBytes = 64 * 1024;

    private const int SectorBytes = 512;

    /// <summary>L1, L2 and refcount table entries: bits 9-55 hold a cluster-aligned host offset.</summary>
    private const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00UL;

    /// <summary>L1 and L2 entries, bit 63: the cluster's refcount is exactly one (it may be written in place).</summary>
    private const ulong CopiedFlag = 1UL << 63;

    /// <summary>L2 entries, bit 62: the cluster is compressed.</summary>
    private const ulong CompressedFlag = 1UL << 62;

    /// <summary>L2 entries of standard clusters, bit 0 (version 3): the cluster reads as zeros.</summary>
    private const ulong ZeroFlag = 1UL << 0;

    /// <summary>L1 entries: bits 0-8 and 56-62 are reserved and must be zero.</summary>
    private const ulong L1ReservedMask = ~(OffsetMask | CopiedFlag);

    /// <summary>Standard L2 entries: bits 1-8 and 56-61 are reserved and must be zero.</summary>
    private const ulong L2ReservedMask = ~(OffsetMask | CopiedFlag | CompressedFlag | ZeroFlag);

    /// <summary>Refcount table entries: bits 0-8 are reserved and must be zero.</summary>
    private const ulong RefcountTableReservedMask = 0x1FFUL;

    /// <summary>Cache up to this many bytes of L2 tables and of refcount blocks each.</summary>
    private const long CacheBudgetInBytes = 8L << 20;

    private readonly SafeFileHandle _handle;
    private readonly Qcow2Header _header;
    private readonly int _clusterBits;
    private readonly int _clusterSize;
    private readonly int _l2Bits;
    private readonly ulong[] _l1;
    private readonly int _refcountOrder;
    private readonly long _refcountsPerBlock;
    private readonly IBlockDevice? _backing;
    private readonly Dictionary<long, byte[]> _l2Cache = [];
    private readonly Dictionary<long, byte[]> _refcountCache = [];

    /// <summary>
    /// The host clusters that hold metadata (header, tables, refcount blocks), kept for writable images: a guest write
    /// through a corrupt L2 entry that points at one is refused instead of overwriting the metadata (QEMU's overlap check).
    /// </summary>
    private readonly HashSet<long> _metadataClusters = [];
    private ulong[] _refcountTable;
    private long _refcountTableOffset;
    private long _fileLength;
    private long _nextFreeCluster;
    private ulong _decompressedEntry;
    private byte[]? _decompressed;
    private bool _disposed;

    /// <summary>Serialises every access: reads fill and evict the metadata caches too.</summary>
    private readonly Lock _gate = new();

    private Qcow2BlockDevice(string path, SafeFileHandle handle, long fileLength, Qcow2Header header, bool readOnly, IReadOnlyList<string> chain)
    {
        FilePath = path;
        Name = Path.GetFileName(path);
        IsReadOnly = readOnly;
        _handle = handle;
        _fileLength = fileLength;
        _header = header;
        _clusterBits = header.ClusterBits;
        _clusterSize = 1 << _clusterBits;
        _l2Bits = _clusterBits - 3;
        _refcountOrder = header.RefcountOrder;
        _refcountsPerBlock = (long)_clusterSize * 8 >> _refcountOrder;
        CapacityInBytes = header.SizeInBytes / SectorBytes * SectorBytes;
        _nextFreeCluster = (fileLength + _clusterSize - 1) >> _clusterBits;

        _l1 = ReadTable(header.L1TableOffset, header.L1Size);
        for (int i = 0; i < _l1.Length; i++)
        {
            ulong entry = _l1[i];
            ulong offset = entry & OffsetMask;
            if ((entry & L1ReservedMask) != 0)
            {
                throw Corrupt($"l1_table[{i}]", $"0x{entry:X16} has reserved bits set");
            }

            if (offset != 0 && (offset % (ulong)_clusterSize != 0 || offset > (ulong)(fileLength - _clusterSize)))
            {
                throw Corrupt($"l1_table[{i}]", $"the L2 table offset 0x{offset:X} is not a cluster-aligned offset within the {fileLength}-byte file");
            }
        }

        _refcountTableOffset = header.RefcountTableOffset;
        _refcountTable = ReadTable(header.RefcountTableOffset, header.RefcountTableClusters * (_clusterSize / 8));
        for (int i = 0; i < _refcountTable.Length; i++)
        {
            ulong entry = _refcountTable[i];
            if ((entry & RefcountTableReservedMask) != 0 || (entry != 0 && (entry % (ulong)_clusterSize != 0 || entry > (ulong)(fileLength - _clusterSize))))
            {
                throw Corrupt($"refcount_table[{i}]", $"0x{entry:X16} is not a cluster-aligned refcount block within the {fileLength}-byte file");
            }
        }

        if (!readOnly)
        {
            CollectMetadataClusters();
            if (header.SnapshotCount > 0)
            {
                throw Corrupt("nb_snapshots", $"the image has {header.SnapshotCount} internal snapshots; such images open read-only only (their clusters are shared)");
            }

            if ((header.IncompatibleFeatures & Qcow2Header.IncompatibleDirty) != 0)
            {
                throw Corrupt("incompatible_features", "the dirty bit is set (refcounts may be stale); open it read-only, or repair it with 'qemu-img check -r all' first");
            }

            if ((header.IncompatibleFeatures & Qcow2Header.IncompatibleCorrupt) != 0)
            {
                throw Corrupt("incompatible_features", "the corrupt bit is set; such images open read-only only");
            }
        }

        if (!readOnly && header.AutoclearFeatures != 0)
        {
            // The specification: a writer that does not understand an autoclear bit clears it, which tells a later
            // reader that the data the bit describes (bitmaps, ...) may be out of date.
            Span<byte> zero = stackalloc byte[8];
            RandomAccess.Write(_handle, zero, Qcow2Header.AutoclearFeaturesField);
        }

        if (header.BackingFile is { } backingName)
        {
            BackingFilePath = ResolveBacking(chain[^1], backingName);
            _backing = OpenBacking(backingName, BackingFilePath, header.BackingFormat, chain);
        }
    }

    /// <summary>The image file.</summary>
    public string FilePath { get; }

    /// <summary>The qcow2 version (2 or 3).</summary>
    public int Version => _header.Version;

    /// <summary>The cluster size in bytes.</summary>
    public int ClusterSizeInBytes => _clusterSize;

    /// <summary>The backing file's full path, or null when the image has none.</summary>
    public string? BackingFilePath { get; }

    /// <summary>The backing device (opened read-only, disposed with this device), or null.</summary>
    public IBlockDevice? Backing => _backing;

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int SectorSize => SectorBytes;

    /// <inheritdoc/>
    public long CapacityInBytes { get; }

    /// <inheritdoc/>
    public bool IsReadOnly { get; }

    /// <summary>Opens a qcow2 image and its chain of backing files (those read-only).</summary>
    /// <param name="path">The image file.</param>
    /// <param name="readOnly">Whether writes are refused (the file is then opened for reading only).</param>
    /// <returns>The device.</returns>
    /// <exception cref="DiskImageFormatException">The image (or a backing file) is not valid, naming the file and field.</exception>
    /// <exception cref="IOException">A file cannot be opened.</exception>
    public static Qcow2BlockDevice Open(string path, bool readOnly = true) => Open(path, readOnly, []);

    /// <summary>Creates a new, empty qcow2 image and opens it for writing.</summary>
    /// <param name="path">The file to create; it must not exist.</param>
    /// <param name="capacityInBytes">The virtual size, a whole number of 512-byte sectors.</param>
    /// <param name="clusterSizeInBytes">The cluster size, a power of two from 512 bytes to 2 MiB.</param>
    /// <param name="version">The qcow2 version, 2 or 3.</param>
    /// <param name="backingFile">
    /// A backing file, as it is to be stored: a relative path is relative to the new image's folder. Null for none.
    /// </param>
    /// <param name="backingFormat">The backing file's format; <see cref="DiskImageFormat.Auto"/> probes it now and records the result.</param>
    /// <returns>The new image, open for writing.</returns>
    public static Qcow2BlockDevice Create(string path, long capacityInBytes, int clusterSizeInBytes = DefaultClusterSizeInBytes, int version = 3, string? backingFile = null, DiskImageFormat backingFormat = DiskImageFormat.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (capacityInBytes < 0 || capacityInBytes % SectorBytes != 0 || capacityInBytes > Qcow2Header.MaxSizeInBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityInBytes), capacityInBytes, $"The capacity must be a whole number of {SectorBytes}-byte sectors up to {Qcow2Header.MaxSizeInBytes} bytes.");
        }

        if (!int.IsPow2(clusterSizeInBytes) || clusterSizeInBytes < 1 << Qcow2Header.MinClusterBits || clusterSizeInBytes > 1 << Qcow2Header.MaxClusterBits)
        {
            throw new ArgumentOutOfRangeException(nameof(clusterSizeInBytes), clusterSizeInBytes, "The cluster size must be a power of two from 512 bytes to 2 MiB.");
        }

        if (version is not (2 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "The qcow2 version must be 2 or 3.");
        }

        string? formatName = null;
        if (backingFile is not null)
        {
            if (System.Text.Encoding.UTF8.GetByteCount(backingFile) is 0 or > Qcow2Header.MaxBackingFileNameBytes)
            {
                throw new ArgumentException($"The backing file name must be 1 to {Qcow2Header.MaxBackingFileNameBytes} bytes.", nameof(backingFile));
            }

            string resolved = ResolveBacking(Path.GetFullPath(path), backingFile);
            DiskImageFormat format = backingFormat == DiskImageFormat.Auto ? DiskImage.Probe(resolved) : backingFormat;
            formatName = format == DiskImageFormat.Qcow2 ? "qcow2" : "raw";
        }

        int clusterBits = int.Log2(clusterSizeInBytes);
        long clusterSize = clusterSizeInBytes;
        long l2Coverage = clusterSize * (clusterSize / 8);
        long l1Entries = Math.Max(1, (capacityInBytes + l2Coverage - 1) / l2Coverage);
        if (l1Entries * 8 > Qcow2Header.MaxL1TableBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityInBytes), capacityInBytes, $"{clusterSizeInBytes}-byte clusters cannot address {capacityInBytes} bytes (the L1 table would pass {Qcow2Header.MaxL1TableBytes} bytes); use larger clusters.");
        }

        // Layout: the header cluster, the refcount table, the refcount blocks, the L1 table. The refcount blocks count
        // all of these, so their number depends on itself: iterate to the fixed point (two or three rounds).
        long refcountsPerBlock = clusterSize * 8 / 16;
        long l1Clusters = Math.Max(1, ((l1Entries * 8) + clusterSize - 1) / clusterSize);
        long tableClusters = 1, blocks = 1;
        while (true)
        {
            long metadata = 1 + tableClusters + blocks + l1Clusters;
            long newBlocks = (metadata + refcountsPerBlock - 1) / refcountsPerBlock;
            long newTableClusters = ((newBlocks * 8) + clusterSize - 1) / clusterSize;
            if (newBlocks == blocks && newTableClusters == tableClusters)
            {
                break;
            }

            blocks = newBlocks;
            tableClusters = newTableClusters;
        }

        long total = 1 + tableClusters + blocks + l1Clusters;
        long tableOffset = clusterSize;
        long blocksOffset = tableOffset + (tableClusters * clusterSize);
        long l1Offset = blocksOffset + (blocks * clusterSize);
        byte[] header = Qcow2Header.Build(version, clusterBits, capacityInBytes, (int)l1Entries, l1Offset, tableOffset, (int)tableClusters, backingFile, formatName);
        byte[] table = new byte[tableClusters * clusterSize];
        for (long b = 0; b < blocks; b++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan((int)(b * 8)), (ulong)(blocksOffset + (b * clusterSize)));
        }

        // 16-bit refcounts of one for every metadata cluster.
        byte[] refcounts = new byte[blocks * clusterSize];
        for (long c = 0; c < total; c++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(refcounts.AsSpan((int)(c * 2)), 1);
        }

        using (SafeFileHandle file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            RandomAccess.SetLength(file, total * clusterSize);
            RandomAccess.Write(file, header, 0);
            RandomAccess.Write(file, table, tableOffset);
            RandomAccess.Write(file, refcounts, blocksOffset);
            RandomAccess.FlushToDisk(file);
        }

        return Open(path, readOnly: false);
    }

    /// <summary>
    /// Creates a qcow2 overlay over an existing image (the usual <c>-snapshot</c> disk): the same capacity, every cluster
    /// read from the backing file until written. The backing file is never written.
    /// </summary>
    /// <param name="path">The file to create; it must not exist.</param>
    /// <param name="backingFile">The backing image, stored as given (a relative path is relative to the new image's folder).</param>
    /// <param name="backingFormat">The backing file's format; <see cref="DiskImageFormat.Auto"/> probes it.</param>
    /// <param name="clusterSizeInBytes">The overlay's cluster size.</param>
    /// <returns>The overlay, open for writing.</returns>
    public static Qcow2BlockDevice CreateOverlay(string path, string backingFile, DiskImageFormat backingFormat = DiskImageFormat.Auto, int clusterSizeInBytes = DefaultClusterSizeInBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(backingFile);
        string resolved = ResolveBacking(Path.GetFullPath(path), backingFile);
        long capacity;
        using (IBlockDevice backing = DiskImage.Open(resolved, backingFormat, readOnly: true))
        {
            capacity = backing.CapacityInBytes;
            backingFormat = backing is Qcow2BlockDevice ? DiskImageFormat.Qcow2 : DiskImageFormat.Raw;
        }

        return Create(path, capacity, clusterSizeInBytes, 3, backingFile, backingFormat);
    }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            BlockRequest.Validate(this, offset, destination.Length);
            int done = 0;
            while (done < destination.Length)
            {
                long position = offset + done;
                int within = (int)(position & (_clusterSize - 1));
                int length = Math.Min(destination.Length - done, _clusterSize - within);
                ReadInCluster(position, within, destination.Slice(done, length));
                done += length;
            }
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            BlockRequest.EnsureWritable(this);
            BlockRequest.Validate(this, offset, source.Length);
            int done = 0;
            while (done < source.Length)
            {
                long position = offset + done;
                int within = (int)(position & (_clusterSize - 1));
                int length = Math.Min(source.Length - done, _clusterSize - within);
                WriteInCluster(position, within, source.Slice(done, length));
                done += length;
            }
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!IsReadOnly)
            {
                RandomAccess.FlushToDisk(_handle);
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default) =>
        SynchronousBlockIo.ReadAsync(this, offset, destination, cancellationToken);

    /// <inheritdoc/>
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        SynchronousBlockIo.WriteAsync(this, offset, source, cancellationToken);

    /// <inheritdoc/>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => SynchronousBlockIo.FlushAsync(this, cancellationToken);

    /// <summary>Closes the image and its backing chain.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        lock (_gate)
        {
            _disposed = true;
            _handle.Dispose();
        }

        _backing?.Dispose();
    }

    internal static Qcow2BlockDevice Open(string path, bool readOnly, IReadOnlyList<string> chain)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFileHandle handle = readOnly
            ? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read)
            : File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            long length = RandomAccess.GetLength(handle);
            Qcow2Header header = Qcow2Header.Read(handle, length, path);
            return new Qcow2BlockDevice(path, handle, length, header, readOnly, [.. chain, Path.GetFullPath(path)]);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static string ResolveBacking(string imageFullPath, string backingFile) =>
        Path.GetFullPath(Path.IsPathRooted(backingFile) ? backingFile : Path.Combine(Path.GetDirectoryName(imageFullPath) ?? ".", backingFile));

    private IBlockDevice OpenBacking(string backingName, string resolved, string? formatName, IReadOnlyList<string> chain)
    {
        if (chain.Contains(resolved))
        {
            throw Corrupt("backing_file", $"'{backingName}' makes a cycle of backing files: {string.Join(" -> ", chain)} -> {resolved}");
        }

        if (chain.Count >= MaxBackingChainDepth)
        {
            throw Corrupt("backing_file", $"'{backingName}' makes the chain of backing files deeper than {MaxBackingChainDepth}");
        }

        DiskImageFormat format = formatName switch
        {
            null => DiskImage.Probe(resolved),
            "raw" => DiskImageFormat.Raw,
            "qcow2" => DiskImageFormat.Qcow2,
            _ => throw Corrupt("backing_format", $"'{formatName}' is not supported (raw and qcow2 are)"),
        };

        try
        {
            return format == DiskImageFormat.Qcow2
                ? Open(resolved, readOnly: true, chain)
                : new RawImageBlockDevice(resolved, readOnly: true);
        }
        catch (DiskImageFormatException)
        {
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Corrupt("backing_file", $"'{resolved}' cannot be opened: {e.Message}", e);
        }
    }

    private DiskImageFormatException Corrupt(string field, string detail, Exception? inner = null) => new(FilePath, field, detail, inner);

    private ulong[] ReadTable(long offset, int entries)
    {
        byte[] bytes = new byte[entries * 8L];
        ReadHost(offset, bytes);
        ulong[] table = new ulong[entries];
        for (int i = 0; i < entries; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(i * 8));
        }

        return table;
    }

    private void ReadInCluster(long position, int within, Span<byte> destination)
    {
        long guestCluster = position >> _clusterBits;
        byte[]? l2 = LoadL2(guestCluster >> _l2Bits, out _);
        ulong entry = l2 is null ? 0 : L2Entry(l2, guestCluster);
        switch (Classify(entry, guestCluster, out long hostOffset))
        {
            case ClusterKind.Unallocated:
                ReadBacking(position, destination);
                break;
            case ClusterKind.Zero:
                destination.Clear();
                break;
            case ClusterKind.Normal:
                ReadHost(hostOffset + within, destination);
                break;
            default:
                Decompress(entry, guestCluster).AsSpan(within, destination.Length).CopyTo(destination);
                break;
        }
    }

    private void WriteInCluster(long position, int within, ReadOnlySpan<byte> data)
    {
        long guestCluster = position >> _clusterBits;
        long l1Index = guestCluster >> _l2Bits;
        byte[] l2 = LoadL2(l1Index, out long l2Offset) ?? AllocateL2(l1Index, out l2Offset);
        ulong entry = L2Entry(l2, guestCluster);
        ClusterKind kind = Classify(entry, guestCluster, out long hostOffset);
        if (kind == ClusterKind.Normal)
        {
            // With no internal snapshots (refused for writing) every allocated cluster has a refcount of one.
            CheckNotMetadata(hostOffset, guestCluster);
            WriteHost(hostOffset + within, data);
            return;
        }

        // A new cluster: its old contents (backing file, zeros, decompressed data) around the new bytes.
        byte[] cluster = new byte[_clusterSize];
        if (data.Length != _clusterSize)
        {
            switch (kind)
            {
                case ClusterKind.Unallocated:
                    ReadBacking(guestCluster << _clusterBits, cluster);
                    break;
                case ClusterKind.Compressed:
                    Decompress(entry, guestCluster).CopyTo(cluster, 0);
                    break;
                default:
                    break;
            }
        }

        data.CopyTo(cluster.AsSpan(within));

        // A zero cluster with a preallocated host cluster (version 3) keeps that cluster.
        long target = kind == ClusterKind.Zero && hostOffset != 0 ? hostOffset : AllocateCluster();
        CheckNotMetadata(target, guestCluster);
        WriteHost(target, cluster);
        SetL2Entry(l2, l2Offset, guestCluster, (ulong)target | CopiedFlag);
        if (kind == ClusterKind.Compressed)
        {
            ReleaseCompressed(entry, guestCluster);
        }
    }

    private enum ClusterKind
    {
        Unallocated,
        Zero,
        Normal,
        Compressed,
    }

    private ClusterKind Classify(ulong entry, long guestCluster, out long hostOffset)
    {
        hostOffset = 0;
        if ((entry & CompressedFlag) != 0)
        {
            return ClusterKind.Compressed;
        }

        if ((entry & L2ReservedMask) != 0)
        {
            throw Corrupt($"l2_entry[{guestCluster}]", $"0x{entry:X16} has reserved bits set");
        }

        ulong offset = entry & OffsetMask;
        if (offset % (ulong)_clusterSize != 0)
        {
            throw Corrupt($"l2_entry[{guestCluster}]", $"the cluster offset 0x{offset:X} is not aligned to the {_clusterSize}-byte cluster");
        }

        hostOffset = (long)offset;
        if ((entry & ZeroFlag) != 0)
        {
            if (_header.Version < 3)
            {
                throw Corrupt($"l2_entry[{guestCluster}]", $"0x{entry:X16} has the zero flag, which version 2 does not have");
            }

            return ClusterKind.Zero;
        }

        return offset == 0 ? ClusterKind.Unallocated : ClusterKind.Normal;
    }

    private ulong L2Entry(byte[] l2, long guestCluster) =>
        BinaryPrimitives.ReadUInt64BigEndian(l2.AsSpan((int)(guestCluster & ((1L << _l2Bits) - 1)) * 8));

    private void SetL2Entry(byte[] l2, long l2Offset, long guestCluster, ulong entry)
    {
        int index = (int)(guestCluster & ((1L << _l2Bits) - 1));
        BinaryPrimitives.WriteUInt64BigEndian(l2.AsSpan(index * 8), entry);
        WriteHost(l2Offset + (index * 8L), l2.AsSpan(index * 8, 8));
    }

    private byte[]? LoadL2(long l1Index, out long l2Offset)
    {
        l2Offset = (long)(_l1[l1Index] & OffsetMask);
        if (l2Offset == 0)
        {
            return null;
        }

        if (_l2Cache.TryGetValue(l2Offset, out byte[]? table))
        {
            return table;
        }

        table = new byte[_clusterSize];
        ReadHost(l2Offset, table);
        AddToCache(_l2Cache, l2Offset, table);
        return table;
    }

    private byte[] AllocateL2(long l1Index, out long l2Offset)
    {
        l2Offset = AllocateCluster();
        byte[] table = new byte[_clusterSize];
        WriteHost(l2Offset, table);
        ulong entry = (ulong)l2Offset | CopiedFlag;
        _l1[l1Index] = entry;
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, entry);
        WriteHost(_header.L1TableOffset + (l1Index * 8), bytes);
        _metadataClusters.Add(l2Offset >> _clusterBits);
        AddToCache(_l2Cache, l2Offset, table);
        return table;
    }

    private void AddToCache(Dictionary<long, byte[]> cache, long offset, byte[] table)
    {
        // Every change is written through, so dropping the whole cache loses nothing; simple and bounded.
        if ((cache.Count + 1L) * _clusterSize > CacheBudgetInBytes)
        {
            cache.Clear();
        }

        cache[offset] = table;
    }

    private void CollectMetadataClusters()
    {
        void Add(long offset, long length)
        {
            for (long c = offset >> _clusterBits; length > 0 && c <= (offset + length - 1) >> _clusterBits; c++)
            {
                _metadataClusters.Add(c);
            }
        }

        Add(0, _clusterSize);
        Add(_header.L1TableOffset, _l1.Length * 8L);
        Add(_refcountTableOffset, _refcountTable.Length * 8L);
        foreach (ulong block in _refcountTable)
        {
            Add((long)block, block == 0 ? 0 : _clusterSize);
        }

        foreach (ulong l1 in _l1)
        {
            long l2 = (long)(l1 & OffsetMask);
            Add(l2, l2 == 0 ? 0 : _clusterSize);
        }
    }

    private void CheckNotMetadata(long hostOffset, long guestCluster)
    {
        if (_metadataClusters.Contains(hostOffset >> _clusterBits))
        {
            throw Corrupt($"l2_entry[{guestCluster}]", $"the data cluster at 0x{hostOffset:X} overlaps the image's metadata; the write is refused");
        }
    }

    private void ReadBacking(long position, Span<byte> destination)
    {
        long available = _backing is null ? 0 : Math.Max(0, _backing.CapacityInBytes - position);
        int fromBacking = (int)Math.Min(destination.Length, available);
        if (fromBacking > 0)
        {
            _backing!.Read(position, destination[..fromBacking]);
        }

        destination[fromBacking..].Clear();
    }

    private byte[] Decompress(ulong entry, long guestCluster)
    {
        if (_decompressed is not null && _decompressedEntry == entry)
        {
            return _decompressed;
        }

        // Compressed cluster descriptor: x = 62 - (cluster_bits - 8); bits 0..x-1 are the host byte offset, bits x..61
        // the number of 512-byte sectors after the one holding that offset.
        int offsetBits = 62 - (_clusterBits - 8);
        long offset = (long)(entry & ((1UL << offsetBits) - 1));
        long sectors = (long)((entry >> offsetBits) & ((1UL << (_clusterBits - 8)) - 1)) + 1;
        long length = (sectors * SectorBytes) - (offset & (SectorBytes - 1));
        if (offset >= _fileLength)
        {
            throw Corrupt($"l2_entry[{guestCluster}]", $"the compressed cluster at 0x{offset:X} is beyond the end of the {_fileLength}-byte file");
        }

        // The last compressed cluster of a file may end before its last counted sector.
        byte[] compressed = new byte[Math.Min(length, _fileLength - offset)];
        ReadHost(offset, compressed);
        byte[] cluster = new byte[_clusterSize];
        try
        {
            using var stream = new DeflateStream(new MemoryStream(compressed), CompressionMode.Decompress);
            stream.ReadExactly(cluster);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw Corrupt($"l2_entry[{guestCluster}]", $"the compressed cluster at 0x{offset:X} does not inflate to {_clusterSize} bytes: {e.Message}", e);
        }

        _decompressedEntry = entry;
        _decompressed = cluster;
        return cluster;
    }

    private void ReleaseCompressed(ulong entry, long guestCluster)
    {
        // The refcount of every host cluster touched by the compressed data (from its sector's start) drops by one.
        int offsetBits = 62 - (_clusterBits - 8);
        long offset = (long)(entry & ((1UL << offsetBits) - 1)) & ~(long)(SectorBytes - 1);
        long sectors = (long)((entry >> offsetBits) & ((1UL << (_clusterBits - 8)) - 1)) + 1;
        long first = offset >> _clusterBits;
        long last = (offset + (sectors * SectorBytes) - 1) >> _clusterBits;
        for (long c = first; c <= last; c++)
        {
            ulong refcount = GetRefcount(c);
            if (refcount == 0)
            {
                throw Corrupt($"l2_entry[{guestCluster}]", $"the compressed data's host cluster {c} has a refcount of zero");
            }

            SetRefcount(c, refcount - 1);
        }

        if (_decompressedEntry == entry)
        {
            _decompressed = null;
        }
    }

    private long AllocateCluster()
    {
        while (true)
        {
            long cluster = _nextFreeCluster;
            long blockIndex = cluster / _refcountsPerBlock;
            if (blockIndex >= _refcountTable.Length)
            {
                GrowRefcountTable();
                continue;
            }

            if (_refcountTable[blockIndex] == 0)
            {
                // No refcount block covers this cluster yet: the cluster becomes that block, counting itself.
                byte[] block = new byte[_clusterSize];
                SetRefcountEntry(block, cluster % _refcountsPerBlock, 1);
                long blockOffset = cluster << _clusterBits;
                WriteHost(blockOffset, block);
                AddToCache(_refcountCache, blockOffset, block);
                SetRefcountTableEntry(blockIndex, (ulong)blockOffset);
                _metadataClusters.Add(cluster);
                _nextFreeCluster++;
                continue;
            }

            if (GetRefcount(cluster) != 0)
            {
                throw Corrupt("refcount_block", $"cluster {cluster}, past the end of the file, has a non-zero refcount");
            }

            SetRefcount(cluster, 1);
            _nextFreeCluster++;
            return cluster << _clusterBits;
        }
    }

    private void GrowRefcountTable()
    {
        // New refcount blocks and a larger table go at the end of the file; the blocks cover the clusters they and the
        // table occupy. Their number depends on the table's size and the other way round: iterate to the fixed point.
        long start = _nextFreeCluster;
        long oldEntries = _refcountTable.Length;
        long entriesPerCluster = _clusterSize / 8;
        long tableClusters = ((oldEntries * 2) + entriesPerCluster - 1) / entriesPerCluster;
        long blocks = 1;
        while (true)
        {
            long last = start + blocks + tableClusters - 1;
            long entries = Math.Max(oldEntries * 2, (last / _refcountsPerBlock) + 1);
            long newTableClusters = (entries + entriesPerCluster - 1) / entriesPerCluster;
            long newBlocks = (last / _refcountsPerBlock) - (start / _refcountsPerBlock) + 1;
            if (newTableClusters == tableClusters && newBlocks == blocks)
            {
                break;
            }

            tableClusters = newTableClusters;
            blocks = newBlocks;
        }

        if (tableClusters * _clusterSize > Qcow2Header.MaxRefcountTableBytes)
        {
            throw new IOException($"'{FilePath}': the image cannot grow further (the refcount table would pass {Qcow2Header.MaxRefcountTableBytes} bytes).");
        }

        long lastCluster = start + blocks + tableClusters - 1;
        long firstBlockIndex = start / _refcountsPerBlock;
        byte[] blockBytes = new byte[blocks * _clusterSize];
        for (long c = start; c <= lastCluster; c++)
        {
            long b = (c / _refcountsPerBlock) - firstBlockIndex;
            SetRefcountEntry(blockBytes.AsSpan((int)(b * _clusterSize), _clusterSize), c % _refcountsPerBlock, 1);
        }

        ulong[] table = new ulong[tableClusters * entriesPerCluster];
        _refcountTable.CopyTo(table, 0);
        for (long b = 0; b < blocks; b++)
        {
            table[firstBlockIndex + b] = (ulong)((start + b) << _clusterBits);
        }

        byte[] tableBytes = new byte[table.Length * 8];
        for (int i = 0; i < table.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(tableBytes.AsSpan(i * 8), table[i]);
        }

        long tableOffset = (start + blocks) << _clusterBits;
        WriteHost(start << _clusterBits, blockBytes);
        WriteHost(tableOffset, tableBytes);
        RandomAccess.FlushToDisk(_handle);

        // Switch the header to the new table (offset and cluster count are adjacent: one write).
        Span<byte> field = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(field, (ulong)tableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(field[8..], (uint)tableClusters);
        WriteHost(Qcow2Header.RefcountTableOffsetField, field);
        RandomAccess.FlushToDisk(_handle);

        long oldTableOffset = _refcountTableOffset;
        long oldTableClusters = (oldEntries + entriesPerCluster - 1) / entriesPerCluster;
        _refcountTable = table;
        _refcountTableOffset = tableOffset;
        for (long c = start; c <= lastCluster; c++)
        {
            _metadataClusters.Add(c);
        }

        _nextFreeCluster = lastCluster + 1;
        for (long c = 0; c < oldTableClusters; c++)
        {
            long cluster = (oldTableOffset >> _clusterBits) + c;
            ulong refcount = GetRefcount(cluster);
            if (refcount > 0)
            {
                SetRefcount(cluster, refcount - 1);
            }
        }
    }

    private void SetRefcountTableEntry(long index, ulong value)
    {
        _refcountTable[index] = value;
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        WriteHost(_refcountTableOffset + (index * 8), bytes);
    }

    private byte[]? LoadRefcountBlock(long cluster)
    {
        long blockIndex = cluster / _refcountsPerBlock;
        if (blockIndex >= _refcountTable.Length)
        {
            return null;
        }

        long offset = (long)_refcountTable[blockIndex];
        if (offset == 0)
        {
            return null;
        }

        if (!_refcountCache.TryGetValue(offset, out byte[]? block))
        {
            block = new byte[_clusterSize];
            ReadHost(offset, block);
            AddToCache(_refcountCache, offset, block);
        }

        return block;
    }

    private ulong GetRefcount(long cluster)
    {
        byte[]? block = LoadRefcountBlock(cluster);
        return block is null ? 0 : GetRefcountEntry(block, cluster % _refcountsPerBlock);
    }

    private void SetRefcount(long cluster, ulong value)
    {
        byte[] block = LoadRefcountBlock(cluster) ?? throw Corrupt("refcount_table", $"no refcount block covers cluster {cluster}");
        long index = cluster % _refcountsPerBlock;
        (int byteOffset, int byteCount) = SetRefcountEntry(block, index, value);
        long blockOffset = (long)_refcountTable[cluster / _refcountsPerBlock];
        WriteHost(blockOffset + byteOffset, block.AsSpan(byteOffset, byteCount));
    }

    private ulong GetRefcountEntry(ReadOnlySpan<byte> block, long index)
    {
        // Refcounts narrower than a byte are packed from the least significant bit (the specification's bit order);
        // wider ones are big-endian.
        switch (_refcountOrder)
        {
            case < 3:
                int bits = 1 << _refcountOrder;
                long bit = index * bits;
                return (ulong)((block[(int)(bit / 8)] >> (int)(bit % 8)) & ((1 << bits) - 1));
            case 3:
                return block[(int)index];
            case 4:
                return BinaryPrimitives.ReadUInt16BigEndian(block[(int)(index * 2)..]);
            case 5:
                return BinaryPrimitives.ReadUInt32BigEndian(block[(int)(index * 4)..]);
            default:
                return BinaryPrimitives.ReadUInt64BigEndian(block[(int)(index * 8)..]);
        }
    }

    private (int ByteOffset, int ByteCount) SetRefcountEntry(Span<byte> block, long index, ulong value)
    {
        switch (_refcountOrder)
        {
            case < 3:
                int bits = 1 << _refcountOrder;
                long bit = index * bits;
                int mask = ((1 << bits) - 1) << (int)(bit % 8);
                int at = (int)(bit / 8);
                block[at] = (byte)((block[at] & ~mask) | (((int)value << (int)(bit % 8)) & mask));
                return (at, 1);
            case 3:
                block[(int)index] = (byte)value;
                return ((int)index, 1);
            case 4:
                BinaryPrimitives.WriteUInt16BigEndian(block[(int)(index * 2)..], (ushort)value);
                return ((int)(index * 2), 2);
            case 5:
                BinaryPrimitives.WriteUInt32BigEndian(block[(int)(index * 4)..], (uint)value);
                return ((int)(index * 4), 4);
            default:
                BinaryPrimitives.WriteUInt64BigEndian(block[(int)(index * 8)..], value);
                return ((int)(index * 8), 8);
        }
    }

    private void ReadHost(long offset, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], offset + done);
            if (n == 0)
            {
                // Past the end of the file: a cluster whose tail was never written reads as zeros.
                destination[done..].Clear();
                return;
            }

            done += n;
        }
    }

    private void WriteHost(long offset, ReadOnlySpan<byte> source)
    {
        RandomAccess.Write(_handle, source, offset);
        _fileLength = Math.Max(_fileLength, offset + source.Length);
    }
}
