using BenchmarkDotNet.Attributes;
using Virt.Memory;

namespace Virt.Benchmarks.Memory;

/// <summary>
/// Aligned 32-bit reads and writes to RAM through <see cref="PhysicalMemoryMap"/>, against the same
/// accesses to a plain byte array in the same run (the baseline). Goal: at most 2x the array.
/// Run: <c>dotnet run -c Release --project tests/Virt.Benchmarks -- --filter *MemoryMap*</c>.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MemoryMapBenchmarks
{
    private const int WorkingSetInBytes = 1 << 20;
    private const int AccessesPerInvocation = 4096;

    private PhysicalMemoryMap _map = null!;
    private byte[] _array = null!;
    private uint[] _offsets = null!;

    /// <summary>Builds a 64 MiB guest with 1 MiB touched, and a pseudo-random sequence of aligned offsets.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _map = new PhysicalMemoryMapBuilder().AddRam("ram", new PhysicalAddress(0), 64UL << 20).Build();
        _array = new byte[WorkingSetInBytes];
        for (uint a = 0; a < WorkingSetInBytes; a += 4)
        {
            _map.WriteDoubleWord(new PhysicalAddress(a), a);
            BitConverter.TryWriteBytes(_array.AsSpan((int)a), a);
        }

        var random = new Random(1234);
        _offsets = new uint[AccessesPerInvocation];
        for (int i = 0; i < _offsets.Length; i++)
        {
            _offsets[i] = (uint)random.Next(WorkingSetInBytes / 4) * 4;
        }
    }

    /// <summary>Baseline: reads from a plain array.</summary>
    /// <returns>A checksum so the reads are not eliminated.</returns>
    [BenchmarkCategory("Read")]
    [Benchmark(Baseline = true, OperationsPerInvoke = AccessesPerInvocation)]
    public uint ArrayRead()
    {
        uint sum = 0;
        byte[] array = _array;
        foreach (uint offset in _offsets)
        {
            sum += BitConverter.ToUInt32(array, (int)offset);
        }

        return sum;
    }

    /// <summary>Reads through the memory map.</summary>
    /// <returns>A checksum so the reads are not eliminated.</returns>
    [BenchmarkCategory("Read")]
    [Benchmark(OperationsPerInvoke = AccessesPerInvocation)]
    public uint MapRead()
    {
        uint sum = 0;
        PhysicalMemoryMap map = _map;
        foreach (uint offset in _offsets)
        {
            sum += map.ReadDoubleWord(new PhysicalAddress(offset));
        }

        return sum;
    }

    /// <summary>Baseline for writes: a plain array.</summary>
    [BenchmarkCategory("Write")]
    [Benchmark(Baseline = true, OperationsPerInvoke = AccessesPerInvocation)]
    public void ArrayWrite()
    {
        byte[] array = _array;
        foreach (uint offset in _offsets)
        {
            BitConverter.TryWriteBytes(array.AsSpan((int)offset, 4), offset);
        }
    }

    /// <summary>Writes through the memory map.</summary>
    [BenchmarkCategory("Write")]
    [Benchmark(OperationsPerInvoke = AccessesPerInvocation)]
    public void MapWrite()
    {
        PhysicalMemoryMap map = _map;
        foreach (uint offset in _offsets)
        {
            map.WriteDoubleWord(new PhysicalAddress(offset), offset);
        }
    }
}
