using System.Buffers.Binary;

namespace Virt.Devices.Tests.Backends.Block;

/// <summary>Reads and patches fields of a qcow2 file directly (big-endian), to build images the tests need.</summary>
internal static class Qcow2File
{
    public const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00UL;
    public const ulong CopiedFlag = 1UL << 63;
    public const ulong CompressedFlag = 1UL << 62;
    public const ulong ZeroFlag = 1UL;

    // Header field offsets (QEMU docs/interop/qcow2.txt, "Header").
    public const int Version = 4;
    public const int BackingFileOffset = 8;
    public const int BackingFileSize = 16;
    public const int ClusterBits = 20;
    public const int Size = 24;
    public const int CryptMethod = 32;
    public const int L1Size = 36;
    public const int L1TableOffset = 40;
    public const int RefcountTableOffset = 48;
    public const int RefcountTableClusters = 56;
    public const int IncompatibleFeatures = 72;
    public const int RefcountOrder = 96;
    public const int HeaderLength = 100;

    public static ulong U64(string path, long offset)
    {
        byte[] bytes = new byte[8];
        using var file = File.OpenHandle(path);
        RandomAccess.Read(file, bytes, offset);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    public static uint U32(string path, long offset)
    {
        byte[] bytes = new byte[4];
        using var file = File.OpenHandle(path);
        RandomAccess.Read(file, bytes, offset);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    public static void Put64(string path, long offset, ulong value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        Put(path, offset, bytes);
    }

    public static void Put32(string path, long offset, uint value)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        Put(path, offset, bytes);
    }

    public static void Put16(string path, long offset, ushort value)
    {
        byte[] bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        Put(path, offset, bytes);
    }

    public static void Put(string path, long offset, byte[] bytes)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.Write(file, bytes, offset);
    }

    /// <summary>The file offset of the L2 entry of a guest cluster (its L2 table must exist).</summary>
    public static long L2EntryOffset(string path, long guestCluster)
    {
        int clusterBits = (int)U32(path, ClusterBits);
        int l2Bits = clusterBits - 3;
        long l1 = (long)U64(path, L1TableOffset);
        long l2 = (long)(U64(path, l1 + ((guestCluster >> l2Bits) * 8)) & OffsetMask);
        if (l2 == 0)
        {
            throw new InvalidOperationException("no L2 table");
        }

        return l2 + ((guestCluster & ((1L << l2Bits) - 1)) * 8);
    }

    /// <summary>The file offset of the 16-bit refcount of a host cluster (its refcount block must exist).</summary>
    public static long RefcountOffset(string path, long hostCluster)
    {
        int clusterBits = (int)U32(path, ClusterBits);
        long perBlock = (1L << clusterBits) / 2;
        long table = (long)U64(path, RefcountTableOffset);
        long block = (long)U64(path, table + ((hostCluster / perBlock) * 8));
        return block + ((hostCluster % perBlock) * 2);
    }
}
