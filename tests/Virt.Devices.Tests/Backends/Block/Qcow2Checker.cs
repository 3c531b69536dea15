using System.Buffers.Binary;

namespace Virt.Devices.Tests.Backends.Block;

/// <summary>
/// An independent consistency check of a qcow2 file with 16-bit refcounts and no snapshots (what
/// <see cref="Qcow2BlockDevice.Create"/> makes): recounts every cluster the metadata references (header, L1 table, refcount
/// table and blocks, L2 tables, data clusters) and compares the counts with the stored refcounts. The unit tests' stand-in
/// for <c>qemu-img check</c>, which the acceptance tests run for real.
/// </summary>
internal static class Qcow2Checker
{
    private const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00UL;
    private const ulong CompressedFlag = 1UL << 62;
    private const ulong CopiedFlag = 1UL << 63;

    /// <summary>Returns a list of problems (empty when the file is consistent).</summary>
    public static List<string> Check(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        var problems = new List<string>();
        int clusterBits = (int)U32(file, 20);
        long clusterSize = 1L << clusterBits;
        long clusters = (file.Length + clusterSize - 1) / clusterSize;
        var expected = new Dictionary<long, int>();
        void Count(long offset, long length)
        {
            for (long c = offset >> clusterBits; c <= (offset + length - 1) >> clusterBits; c++)
            {
                expected[c] = expected.GetValueOrDefault(c) + 1;
            }
        }

        Count(0, clusterSize);
        int l1Size = (int)U32(file, 36);
        long l1Offset = (long)U64(file, 40);
        long refcountTableOffset = (long)U64(file, 48);
        long refcountTableClusters = U32(file, 56);
        Count(l1Offset, Math.Max(8, l1Size * 8L));
        Count(refcountTableOffset, refcountTableClusters * clusterSize);
        for (int i = 0; i < l1Size; i++)
        {
            ulong l1 = U64(file, l1Offset + (i * 8));
            long l2Offset = (long)(l1 & OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }

            if ((l1 & CopiedFlag) == 0)
            {
                problems.Add($"L1[{i}] lacks the copied flag");
            }

            Count(l2Offset, clusterSize);
            for (long j = 0; j < clusterSize / 8; j++)
            {
                ulong l2 = U64(file, l2Offset + (j * 8));
                if ((l2 & CompressedFlag) != 0)
                {
                    problems.Add($"L2 entry {j} of table {i} is compressed (not expected here)");
                    continue;
                }

                long data = (long)(l2 & OffsetMask);
                if (data != 0)
                {
                    if ((l2 & CopiedFlag) == 0)
                    {
                        problems.Add($"L2 entry {j} of table {i} lacks the copied flag");
                    }

                    Count(data, clusterSize);
                }
            }
        }

        long refcountsPerBlock = clusterSize / 2;
        var stored = new Dictionary<long, int>();
        for (long i = 0; i < refcountTableClusters * clusterSize / 8; i++)
        {
            long block = (long)U64(file, refcountTableOffset + (i * 8));
            if (block == 0)
            {
                continue;
            }

            Count(block, clusterSize);
            for (long k = 0; k < refcountsPerBlock; k++)
            {
                int refcount = BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan((int)(block + (k * 2))));
                if (refcount != 0)
                {
                    stored[(i * refcountsPerBlock) + k] = refcount;
                }
            }
        }

        foreach (long c in expected.Keys.Union(stored.Keys).Order())
        {
            int want = expected.GetValueOrDefault(c);
            int have = stored.GetValueOrDefault(c);
            if (want != have)
            {
                problems.Add($"cluster {c}: referenced {want} times, refcount {have}");
            }

            if (want > 0 && c >= clusters)
            {
                problems.Add($"cluster {c} is referenced but past the end of the file");
            }
        }

        return problems;
    }

    private static uint U32(byte[] file, long offset) => BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan((int)offset));

    private static ulong U64(byte[] file, long offset) => BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan((int)offset));
}
