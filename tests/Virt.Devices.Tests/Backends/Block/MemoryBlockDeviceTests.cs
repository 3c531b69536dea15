using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

public sealed class MemoryBlockDeviceTests
{
    [Fact]
    public void WrittenSectors_ReadBack_AndLeaveTheOthersZero()
    {
        using var device = new MemoryBlockDevice(8 * 512);
        byte[] sector = Enumerable.Range(0, 512).Select(i => (byte)(i * 7)).ToArray();

        device.Write(3 * 512, sector);

        byte[] all = new byte[8 * 512];
        device.Read(0, all);
        Assert.Equal(sector, all.AsSpan(3 * 512, 512).ToArray());
        Assert.All(all.AsSpan(0, 3 * 512).ToArray(), b => Assert.Equal(0, b));
        Assert.All(all.AsSpan(4 * 512).ToArray(), b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(1, 512)]      // unaligned offset
    [InlineData(0, 100)]      // partial sector
    [InlineData(7 * 512, 1024)] // reaches past the end
    [InlineData(-512, 512)]   // negative offset
    public void RequestsOutsideTheRules_AreRefused(long offset, int length)
    {
        using var device = new MemoryBlockDevice(8 * 512);

        Assert.Throws<ArgumentOutOfRangeException>(() => device.Read(offset, new byte[length]));
        Assert.Throws<ArgumentOutOfRangeException>(() => device.Write(offset, new byte[length]));
    }

    [Fact]
    public void ReadOnlyDevice_RefusesWrites_AndKeepsItsContents()
    {
        byte[] data = new byte[2048];
        data[5] = 0x5A;
        using var device = new MemoryBlockDevice(data, sectorSize: 2048, readOnly: true, name: "cd");

        var error = Assert.Throws<InvalidOperationException>(() => device.Write(0, new byte[2048]));

        Assert.Contains("cd", error.Message, StringComparison.Ordinal);
        Assert.Equal(0x5A, data[5]);
    }

    [Fact]
    public async Task AsyncMembers_SeeTheSameContents_AndHonourCancellation()
    {
        using var device = new MemoryBlockDevice(4 * 512);
        byte[] sector = new byte[512];
        sector[0] = 0xAB;

        await device.WriteAsync(512, sector);
        byte[] back = new byte[512];
        await device.ReadAsync(512, back);
        await device.FlushAsync();

        Assert.Equal(0xAB, back[0]);
        Assert.Equal(1, device.FlushCount);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await device.ReadAsync(0, back, cancelled.Token));
    }

    [Theory]
    [InlineData(1000, 512)]
    [InlineData(4096, 1024)]
    public void ConstructionWithBadGeometry_IsRefused(long capacity, int sectorSize)
    {
        Assert.ThrowsAny<ArgumentException>(() => new MemoryBlockDevice(capacity, sectorSize));
    }
}
