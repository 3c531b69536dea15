using FsCheck;
using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Ports;

public sealed class IoPortSpaceTests
{
    [Fact]
    public void UnmappedPortsReadAllOnesAndAreCounted()
    {
        var ports = new IoPortSpace();
        Assert.Equal(0xFF, ports.ReadByte(0x80));
        Assert.Equal(0xFFFF, ports.ReadWord(0x80));
        Assert.Equal(0xFFFFFFFFu, ports.ReadDoubleWord(0x80));
        ports.WriteByte(0x80, 1);
        Assert.Equal(7, ports.Statistics.UnmappedReads);
        Assert.Equal(1, ports.Statistics.UnmappedWrites);
    }

    [Fact]
    public void StrictModeThrows()
    {
        var ports = new IoPortSpace(strict: true);
        var e = Assert.Throws<UnmappedAccessException>(() => ports.ReadByte(0x3F8));
        Assert.Contains("03F8h", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlapNamesBothRegistrations()
    {
        var ports = new IoPortSpace();
        ports.Register("COM1", 0x3F8, 8, new RecordingPortDevice(AccessWidths.Byte));
        var e = Assert.Throws<InvalidOperationException>(() => ports.Register("other", 0x3FF, 2, new RecordingPortDevice(AccessWidths.Byte)));
        Assert.Contains("'other' [03FFh..0400h]", e.Message, StringComparison.Ordinal);
        Assert.Contains("'COM1' [03F8h..03FFh]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadRegistrationsAreRejected()
    {
        var ports = new IoPortSpace();
        Assert.Throws<ArgumentOutOfRangeException>(() => ports.Register("x", 0xFFFF, 2, new RecordingPortDevice(AccessWidths.Byte)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ports.Register("x", 0, 0, new RecordingPortDevice(AccessWidths.Byte)));
        var e = Assert.Throws<ArgumentException>(() => ports.Register("x", 0, 1, new RecordingPortDevice(AccessWidths.None)));
        Assert.Contains("no supported access width", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnregisterFreesThePorts()
    {
        var ports = new IoPortSpace();
        IDisposable handle = ports.Register("bar", 0xC000, 0x20, new RecordingPortDevice(AccessWidths.UpToDoubleWord));
        Assert.True(ports.IsRegistered(0xC010));
        handle.Dispose();
        Assert.False(ports.IsRegistered(0xC010));
        ports.Register("bar2", 0xC000, 0x20, new RecordingPortDevice(AccessWidths.Byte));
        Assert.Equal("bar2", ports.GetRegistrationName(0xC01F));
    }

    [Fact]
    public void DoubleWordToByteDeviceIsSplitLowFirst()
    {
        var ports = new IoPortSpace();
        var dev = new RecordingPortDevice(AccessWidths.Byte);
        ports.Register("dev", 0x100, 4, dev);
        ports.WriteDoubleWord(0x100, 0x44332211);
        Assert.Equal([(true, (ushort)0, 1, 0x11u), (true, (ushort)1, 1, 0x22u), (true, (ushort)2, 1, 0x33u), (true, (ushort)3, 1, 0x44u)], dev.Accesses);
    }

    [Fact]
    public void ByteReadOfWordDeviceTakesLowByteAndByteWriteIsIgnored()
    {
        var ports = new IoPortSpace();
        var dev = new RecordingPortDevice(AccessWidths.Word);
        ports.Register("dev", 0x1F0, 2, dev);
        dev.Values[0] = 0xBEEF;
        Assert.Equal(0xEF, ports.ReadByte(0x1F0));
        ports.WriteByte(0x1F0, 0x12);
        Assert.DoesNotContain(dev.Accesses, a => a.IsWrite);
        Assert.Equal(1, ports.Statistics.IgnoredNarrowWrites);
    }

    // Dispatch agrees with an oracle: each byte of an access is served by whichever registration
    // holds its port (or is open bus), in little-endian order.
    [Property(MaxTest = 300)]
    public bool DispatchEqualsOracle(int seed, ushort probe, byte sizeIndex)
    {
        var random = new Random(seed);
        var ports = new IoPortSpace();
        var owner = new RecordingPortDevice?[0x200];
        for (int i = 0; i < 10; i++)
        {
            int first = random.Next(0, 0x1F0);
            int count = random.Next(1, 16);
            if (Enumerable.Range(first, count).Any(p => owner[p] is not null))
            {
                continue;
            }

            var dev = new RecordingPortDevice(AccessWidths.Byte) { Base = first };
            for (int p = first; p < first + count; p++)
            {
                owner[p] = dev;
                dev.Values[p - first] = (uint)random.Next(256);
            }

            ports.Register("d" + i, (ushort)first, count, dev);
        }

        int size = new[] { 1, 2, 4 }[sizeIndex % 3];
        ushort port = (ushort)(probe % 0x1F8);
        uint expected = 0;
        for (int i = 0; i < size; i++)
        {
            RecordingPortDevice? d = owner[port + i];
            uint b = d is null ? 0xFFu : d.Values[port + i - d.Base];
            expected |= b << (8 * i);
        }

        return ports.Read(port, size) == expected;
    }
}
