using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Dma8237;

public sealed class Dma8237Tests
{
    // Mode register values (bits 7-6 select, 5 decrement, 4 auto-init, 3-2 type); the channel bits are added by the helper.
    private const byte SingleWrite = 0x44;
    private const byte SingleRead = 0x48;
    private const byte SingleVerify = 0x40;
    private const byte BlockWriteAutoInit = 0x94;
    private const byte SingleWriteDecrement = 0x64;

    private readonly ArrayGuestMemory _memory = new();
    private readonly Devices.Dma8237 _dma;
    private readonly Dma8237TestPorts _ports;

    public Dma8237Tests()
    {
        _dma = new Devices.Dma8237(_memory);
        _ports = new Dma8237TestPorts(_dma);
    }

    [Fact]
    public void TheFlipFlopAlternatesLowAndHighBytesAndClearFlipFlopRestartsAtTheLowByte()
    {
        _ports.Out(0x0C, 0);
        _ports.Out(0x04, 0x34);
        _ports.Out(0x04, 0x12);
        _ports.Out(0x0C, 0);
        Assert.Equal(0x34, _ports.In(0x04));
        Assert.Equal(0x12, _ports.In(0x04));

        // A read leaves the flip-flop on the high byte: the next write goes to the high byte unless cleared.
        _ports.Out(0x0C, 0);
        _ = _ports.In(0x04);
        _ports.Out(0x04, 0x56);
        _ports.Out(0x0C, 0);
        Assert.Equal(0x34, _ports.In(0x04));
        Assert.Equal(0x56, _ports.In(0x04));
    }

    [Fact]
    public void MasterClearResetsTheFlipFlopAndMasksEveryChannel()
    {
        _ports.Out(0x0E, 0);                // clear mask: all unmasked
        Assert.Equal(0xF0, _ports.In(0x0F));
        _ports.Out(0x04, 0x11);             // flip-flop now high
        _ports.Out(0x0D, 0);                // master clear
        Assert.Equal(0xFF, _ports.In(0x0F));
        _ports.Out(0x04, 0x22);             // low byte again
        _ports.Out(0x0C, 0);
        Assert.Equal(0x22, _ports.In(0x04));
    }

    [Fact]
    public void PageRegistersHoldTheirByteAndPort80hIsNotPartOfTheDevice()
    {
        Assert.DoesNotContain(_dma.PortBindings, b => b.FirstPort <= 0x80 && 0x80 < b.FirstPort + b.Count);
        ushort[] ports = [0x81, 0x82, 0x83, 0x87, 0x89, 0x8A, 0x8B, 0x8F, 0x84];
        for (int i = 0; i < ports.Length; i++)
        {
            _ports.Out(ports[i], (byte)(0x10 + i));
        }

        for (int i = 0; i < ports.Length; i++)
        {
            Assert.Equal(0x10 + i, _ports.In(ports[i]));
        }
    }

    [Fact]
    public void Channel2WritesDeviceDataAtPageAndAddressAndReportsTerminalCount()
    {
        IDmaChannel channel = _dma.GetChannel(2);
        _ports.Out(0x0E, 0);                                        // clear mask: every channel unmasked
        _ports.Program8(2, 0x0012_3400, 16, SingleWrite);
        byte[] data = [.. Enumerable.Range(1, 20).Select(i => (byte)i)];

        int moved = channel.WriteToMemory(data);

        Assert.Equal(16, moved);                                    // the count ran out after 16 bytes
        Assert.True(channel.TerminalCountReached);
        Assert.Equal(data[..16], _memory.Bytes[0x123400..0x123410]);
        Assert.Equal(0, _memory.Bytes[0x123410]);
        Assert.Equal(0x04, _ports.In(0x08) & 0x0F);                 // status: TC on channel 2 ...
        Assert.Equal(0x00, _ports.In(0x08) & 0x0F);                 // ... cleared by the read
        Assert.Equal(0xF4, _ports.In(0x0F));                        // no auto-init: TC masked the channel
        Assert.False(channel.IsReady);
        Assert.Equal(0, channel.WriteToMemory(data));
    }

    [Fact]
    public void AutoInitReloadsAddressAndCountAtTerminalCountAndLeavesTheChannelUnmasked()
    {
        IDmaChannel channel = _dma.GetChannel(1);
        _ports.Program8(1, 0x2000, 8, BlockWriteAutoInit);
        Assert.Equal(8, channel.WriteToMemory(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
        Assert.True(channel.TerminalCountReached);
        Assert.Equal(4, channel.WriteToMemory(new byte[] { 9, 9, 9, 9 }));
        Assert.False(channel.TerminalCountReached);

        Assert.Equal(new byte[] { 9, 9, 9, 9, 5, 6, 7, 8 }, _memory.Bytes[0x2000..0x2008]);
        Assert.True(channel.IsReady);
        _ports.Out(0x0C, 0);
        Assert.Equal(0x04, _ports.In(0x02));                       // current address after the reload and 4 more
        Assert.Equal(0x20, _ports.In(0x02));
        Assert.Equal(0x03, _ports.In(0x03));                       // current count: 7 - 4
    }

    [Fact]
    public void ReadTransferCopiesMemoryToTheDeviceAndVerifyTouchesNoMemory()
    {
        IDmaChannel channel = _dma.GetChannel(3);
        _memory.Bytes.AsSpan(0x5000, 4).Fill(0xAB);
        _ports.Program8(3, 0x5000, 4, SingleRead);
        byte[] buffer = new byte[4];
        Assert.Equal(4, channel.ReadFromMemory(buffer));
        Assert.Equal(new byte[] { 0xAB, 0xAB, 0xAB, 0xAB }, buffer);

        int writesBefore = _memory.Writes;
        _ports.Program8(3, 0x6000, 4, SingleVerify);
        Assert.Equal(4, channel.WriteToMemory(new byte[] { 1, 2, 3, 4 }));
        Assert.True(channel.TerminalCountReached);
        Assert.Equal(writesBefore, _memory.Writes);
        Assert.Equal(0, _memory.Bytes[0x6000]);
    }

    [Fact]
    public void DecrementModeWritesDownwards()
    {
        IDmaChannel channel = _dma.GetChannel(0);
        _ports.Program8(0, 0x3003, 4, SingleWriteDecrement);
        Assert.Equal(4, channel.WriteToMemory(new byte[] { 1, 2, 3, 4 }));
        Assert.Equal(new byte[] { 4, 3, 2, 1 }, _memory.Bytes[0x3000..0x3004]);
    }

    [Fact]
    public void AnEightBitChannelWrapsWithinItsSixtyFourKilobytePage()
    {
        IDmaChannel channel = _dma.GetChannel(2);
        _ports.Program8(2, 0x1FFFE, 4, SingleWrite);
        Assert.Equal(4, channel.WriteToMemory(new byte[] { 1, 2, 3, 4 }));
        Assert.Equal(new byte[] { 1, 2 }, _memory.Bytes[0x1FFFE..0x20000]);
        Assert.Equal(new byte[] { 3, 4 }, _memory.Bytes[0x10000..0x10002]); // the page register does not carry
        Assert.Equal(0, _memory.Bytes[0x20000]);
    }

    [Fact]
    public void SlaveChannelsAreWordAddressedWithTheirPageShiftedByOne()
    {
        IDmaChannel channel = _dma.GetChannel(5);
        Assert.True(channel.IsSixteenBit);
        _ports.Out(0xD4, 0x05);             // single mask: mask channel 5
        _ports.Out(0xD8, 0);                // clear flip-flop
        _ports.Out(0xC4, 0x00);             // word address 0x0800 -> byte address 0x1000 in the 128 KiB block
        _ports.Out(0xC4, 0x08);
        _ports.Out(0xC6, 0x01);             // 2 words
        _ports.Out(0xC6, 0x00);
        _ports.Out(0x8B, 0x03);             // page bits 7-1 give A23-A17; bit 0 is ignored
        _ports.Out(0xD6, (byte)(SingleWrite | 1));
        _ports.Out(0xD4, 0x01);             // unmask channel 5

        Assert.Equal(4, channel.WriteToMemory(new byte[] { 1, 2, 3, 4, 5, 6 }));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, _memory.Bytes[0x21000..0x21004]);
        Assert.Equal(0x02, _ports.In(0xD0) & 0x0F); // TC of channel 5 is bit 1 of the slave's status
        Assert.Equal(0xFF, _ports.In(0xC1));        // odd ports between the slave's registers are not decoded
    }

    [Fact]
    public void TheServiceRoutineRunsWhenDreqIsAssertedOnAReadyChannelOrWhenTheGuestUnmasksIt()
    {
        IDmaChannel channel = _dma.GetChannel(2);
        int services = 0;
        channel.Attach(() =>
        {
            services++;
            channel.WriteToMemory(new byte[] { 7 });
            channel.SetRequest(false);
        });
        _ports.Program8(2, 0x4000, 1, SingleWrite, unmask: false);

        channel.SetRequest(true);
        Assert.Equal(0, services);                                   // masked: the request waits
        Assert.Equal(0x40, _ports.In(0x08) & 0xF0);                  // status shows the request on channel 2
        _ports.Out(0x0A, 0x02);                                      // unmask
        Assert.Equal(1, services);
        Assert.Equal(7, _memory.Bytes[0x4000]);
    }

    [Fact]
    public void TheControllerDisableBitStopsTransfers()
    {
        IDmaChannel channel = _dma.GetChannel(2);
        _ports.Program8(2, 0x4000, 1, SingleWrite);
        _ports.Out(0x08, 0x04);
        Assert.False(channel.IsReady);
        Assert.Equal(0, channel.WriteToMemory(new byte[] { 1 }));
        _ports.Out(0x08, 0x00);
        Assert.Equal(1, channel.WriteToMemory(new byte[] { 1 }));
    }

    [Fact]
    public void WriteAllMaskAndRequestRegisterShowInMaskAndStatusReads()
    {
        _ports.Out(0x0F, 0x05);
        Assert.Equal(0xF5, _ports.In(0x0F));
        _ports.Out(0x09, 0x04 | 3);         // software request on channel 3
        Assert.Equal(0x80, _ports.In(0x08) & 0xF0);
        _ports.Out(0x09, 3);
        Assert.Equal(0x00, _ports.In(0x08) & 0xF0);
        Assert.Equal(0, _ports.In(0x0D));   // temporary register after power-on
    }

    [Fact]
    public void SaveRestoreRoundTripsTheRegisters()
    {
        _ports.Program8(2, 0x0012_3400, 512, BlockWriteAutoInit);
        _ports.Out(0x04, 0x99);             // leave the flip-flop high
        Devices.Dma8237State saved = _dma.SaveState();

        var other = new Devices.Dma8237(new ArrayGuestMemory(1 << 20));
        other.RestoreState(saved);
        Assert.Equal(saved, other.SaveState());
        Assert.Throws<ArgumentException>(() => other.RestoreState(saved with { Version = 99 }));
        Assert.Throws<ArgumentException>(() => other.RestoreState(saved with { PageRegisters = new byte[3] }));
    }
}
