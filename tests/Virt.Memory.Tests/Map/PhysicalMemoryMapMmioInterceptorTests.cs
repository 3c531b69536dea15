using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary><see cref="PhysicalMemoryMap.MmioInterceptor"/>: sees and changes MMIO accesses, never RAM or ROM ones.</summary>
public sealed class PhysicalMemoryMapMmioInterceptorTests
{
    private static PhysicalAddress A(ulong value) => new(value);

    [Fact]
    public void TheInterceptorSeesMmioAccessesAsMadeAndMayChangeOrSuppressThem()
    {
        var device = new RecordingMmioDevice(0x100, AccessWidths.Byte);
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x1_0000)
            .AddRom("rom", A(0x2_0000), 0x1000, new byte[0x1000])
            .AddMmio("dev", A(0x1_0000), 0x100, device)
            .Build();
        var interceptor = new Interceptor();
        map.MmioInterceptor = interceptor;

        map.WriteByte(A(0x10), 1);
        _ = map.ReadByte(A(0x10));
        map.WriteByte(A(0x2_0000), 1);                 // ignored ROM write
        Assert.Empty(interceptor.Seen);

        device.Bytes[4] = 0x34;
        device.Bytes[5] = 0x12;
        Assert.Equal(0x12_35, map.ReadWord(A(0x1_0004)));          // the interceptor adds one
        map.WriteDoubleWord(A(0x1_0008), 0xAABBCCDD);              // replaced by its complement
        interceptor.Suppress = true;
        map.WriteByte(A(0x1_0020), 0x99);                           // suppressed
        Assert.Equal(
            [("dev", 0x1_0004UL, 2, false), ("dev", 0x1_0008UL, 4, true), ("dev", 0x1_0020UL, 1, true)],
            interceptor.Seen);
        Assert.Equal(0x55443322u, (uint)(device.Bytes[8] | (device.Bytes[9] << 8) | (device.Bytes[10] << 16) | (device.Bytes[11] << 24)));
        Assert.Equal(0, device.Bytes[0x20]);

        map.MmioInterceptor = null;
        Assert.Equal(0x12_34, map.ReadWord(A(0x1_0004)));
    }

    private sealed class Interceptor : IMmioAccessInterceptor
    {
        public List<(string Region, ulong Address, int Size, bool IsWrite)> Seen { get; } = [];

        public bool Suppress { get; set; }

        public ulong AfterRead(string region, PhysicalAddress address, int sizeInBytes, ulong value)
        {
            Seen.Add((region, address.Value, sizeInBytes, false));
            return value + 1;
        }

        public bool BeforeWrite(string region, PhysicalAddress address, int sizeInBytes, ref ulong value)
        {
            Seen.Add((region, address.Value, sizeInBytes, true));
            value = ~value;
            return !Suppress;
        }
    }
}
