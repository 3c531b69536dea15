using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Pci;

/// <summary>The <see cref="PciDevice"/> contract: BAR sizing and relocation, ROM, INTx#, MSI, DMA, reset, state.</summary>
public sealed class PciDeviceTests
{
    private const int Slot = 4;
    private readonly TestPciCard _card = new();
    private readonly RecordingRouter _router = new();
    private readonly PciTestRig _rig;

    public PciDeviceTests()
    {
        _rig = new PciTestRig(_router, (_card, Slot, 0));
    }

    private uint Read(int register, int size = 4) => _rig.ReadConfig(Slot, 0, register, size);

    private void Write(int register, uint value, int size = 4) => _rig.WriteConfig(Slot, 0, register, size, value);

    [Fact]
    public void BarSizing_AllOnesReadsBackTheSizeMaskAndTypeBits()
    {
        Write(0x10, 0xFFFF_FFFF);
        Assert.Equal(0xFFFF_F000u, Read(0x10)); // 4 KiB, 32-bit, not prefetchable
        Write(0x14, 0xFFFF_FFFF);
        Assert.Equal(0xFFFF_FFF1u, Read(0x14)); // 16 ports, I/O
        Write(0x18, 0xFFFF_FFFF);
        Write(0x1C, 0xFFFF_FFFF);
        Assert.Equal(0x0000_000Cu, Read(0x18)); // 8 GiB: no low address bits, 64-bit (bit 2), prefetchable (bit 3)
        Assert.Equal(0xFFFF_FFFEu, Read(0x1C)); // upper half: ~(8 GiB - 1) >> 32
        Write(0x30, 0xFFFF_FFFF);
        Assert.Equal(0xFFFF_F801u, Read(0x30)); // 2 KiB ROM window, enable bit writable
        Write(0x20, 0xFFFF_FFFF);
        Assert.Equal(0u, Read(0x20)); // undefined BAR4: read-only zero
        Assert.All(_card.Bars, b => Assert.Null(b.MappedAddress)); // decoding is off
    }

    [Fact]
    public void MemoryBar_MapsWhenDecodingIsOn_AndMovesWithTheBar()
    {
        Write(0x10, 0xE000_0000);
        Assert.Equal(0xFFu, _rig.Memory.ReadByte(new PhysicalAddress(0xE000_0000))); // memory space decoding off
        Write(0x04, PciConfigurationRegisters.CommandMemorySpace, 2);
        _rig.Memory.WriteDoubleWord(new PhysicalAddress(0xE000_0000), 0xDEAD_BEEF);
        Assert.Equal(0xDEAD_BEEFu, _card.Memory.Register);
        Assert.Equal(0xE000_0000UL, _card.Bars[0].MappedAddress);

        Write(0x10, 0xE100_0000);
        Assert.Equal(0xFFFF_FFFFu, _rig.Memory.ReadDoubleWord(new PhysicalAddress(0xE000_0000)));
        Assert.Equal(0xDEAD_BEEFu, _rig.Memory.ReadDoubleWord(new PhysicalAddress(0xE100_0000)));

        Write(0x04, 0, 2);
        Assert.Equal(0xFFFF_FFFFu, _rig.Memory.ReadDoubleWord(new PhysicalAddress(0xE100_0000)));
        Assert.Null(_card.Bars[0].MappedAddress);
    }

    [Fact]
    public void MemoryBar_OverRam_IsLeftUnmappedAndCounted()
    {
        Write(0x04, PciConfigurationRegisters.CommandMemorySpace, 2);
        Write(0x10, 0x0010_0000); // inside the rig's 16 MiB of RAM
        Assert.Null(_card.Bars[0].MappedAddress);
        Assert.Equal(1, _card.MappingConflictCount);
        _rig.Memory.WriteByte(new PhysicalAddress(0x0010_0000), 0x5A);
        Assert.Equal(0x5A, _rig.Memory.ReadByte(new PhysicalAddress(0x0010_0000))); // RAM still answers
        Write(0x10, 0xF000_0000);
        Assert.Equal(0xF000_0000UL, _card.Bars[0].MappedAddress);
    }

    [Fact]
    public void SixtyFourBitBar_TakesItsUpperHalf()
    {
        Write(0x04, PciConfigurationRegisters.CommandMemorySpace, 2);
        Write(0x18, 0);
        Write(0x1C, 0x0000_0004); // 16 GiB
        Assert.Equal(0x4_0000_0000UL, _card.Bars.Single(b => b.Index == 2).MappedAddress);
        Assert.Equal(0xC0DEu, _rig.Memory.ReadDoubleWord(new PhysicalAddress(0x4_0000_0010)));
    }

    [Fact]
    public void IoBar_RegistersPortsWhenIoDecodingIsOn_AndMoves()
    {
        Write(0x14, 0xC000);
        Assert.False(_rig.Ports.IsRegistered(0xC000));
        Write(0x04, PciConfigurationRegisters.CommandIoSpace, 2);
        Assert.Equal(0x43u, _rig.Ports.ReadByte(0xC003));
        _rig.Ports.WriteWord(0xC004, 0x1234);
        Assert.Equal((4, 0x1234u), _card.PortHandler.Writes.Single());
        Write(0x14, 0xD010);
        Assert.False(_rig.Ports.IsRegistered(0xC000));
        Assert.Equal(0x4Fu, _rig.Ports.ReadByte(0xD01F));
    }

    [Fact]
    public void ExpansionRom_DecodesOnlyWithItsEnableBitAndMemorySpace()
    {
        Write(0x04, PciConfigurationRegisters.CommandMemorySpace, 2);
        Write(0x30, 0xE800_0000);
        Assert.Equal(0xFFu, _rig.Memory.ReadByte(new PhysicalAddress(0xE800_0000)));
        Write(0x30, 0xE800_0001);
        Assert.Equal(0xAA55u, _rig.Memory.ReadWord(new PhysicalAddress(0xE800_0000)));
        Assert.Equal(0x10, _rig.Memory.ReadByte(new PhysicalAddress(0xE800_0002)));
        Assert.Equal(0, _rig.Memory.ReadByte(new PhysicalAddress(0xE800_07FF)));
        _rig.Memory.WriteByte(new PhysicalAddress(0xE800_0000), 0); // ROM: ignored
        Assert.Equal(0x55, _rig.Memory.ReadByte(new PhysicalAddress(0xE800_0000)));
    }

    [Fact]
    public void Intx_FollowsTheRequest_InterruptDisableAndStatusBit()
    {
        Fakes.RecordingInterruptLine line = _router.Lines[(new PciFunctionAddress(0, Slot, 0), PciInterruptPin.IntA)];
        _card.Interrupt(true);
        Assert.True(line.IsAsserted);
        Assert.Equal(PciConfigurationRegisters.StatusInterrupt, Read(0x06, 2) & PciConfigurationRegisters.StatusInterrupt);
        Write(0x04, PciConfigurationRegisters.CommandInterruptDisable, 2);
        Assert.False(line.IsAsserted);
        Assert.Equal(PciConfigurationRegisters.StatusInterrupt, Read(0x06, 2) & PciConfigurationRegisters.StatusInterrupt); // status still shows the request
        Write(0x04, 0, 2);
        Assert.True(line.IsAsserted);
        _card.Interrupt(false);
        Assert.False(line.IsAsserted);
        Assert.Equal(0u, Read(0x06, 2) & PciConfigurationRegisters.StatusInterrupt);
    }

    [Fact]
    public void Msi_CapabilityIsListed_AndMessagesCarryTheVector()
    {
        var target = new RecordingMsiTarget();
        _rig.Bus.MsiTarget = target;
        Assert.Equal(PciConfigurationRegisters.StatusCapabilitiesList, Read(0x06, 2) & PciConfigurationRegisters.StatusCapabilitiesList);
        Assert.Equal((uint)TestPciCard.MsiCapability, Read(0x34, 1));
        Assert.Equal(0x05u, Read(TestPciCard.MsiCapability, 1)); // MSI capability ID, next pointer 0
        Assert.Equal(0x0084u, Read(TestPciCard.MsiCapability + 2, 2)); // 64-bit capable, 4 vectors requested (MMC = 2)
        Assert.False(_card.Msi(0)); // not enabled yet

        Write(TestPciCard.MsiCapability + 4, 0xFEE0_0000);
        Write(TestPciCard.MsiCapability + 8, 0);
        Write(TestPciCard.MsiCapability + 12, 0x4020, 2);
        Write(TestPciCard.MsiCapability + 2, 0x0021, 2); // enable, 4 vectors enabled (MME = 2)
        Assert.False(_card.Msi(3)); // bus mastering off: the message write cannot happen
        Write(0x04, PciConfigurationRegisters.CommandBusMaster, 2);
        Assert.True(_card.Msi(3));
        Assert.Equal((0xFEE0_0000UL, 0x4023u), target.Messages.Single());

        Fakes.RecordingInterruptLine line = _router.Lines[(new PciFunctionAddress(0, Slot, 0), PciInterruptPin.IntA)];
        _card.Interrupt(true);
        Assert.False(line.IsAsserted); // INTx# is not used while MSI is enabled
        _rig.Bus.MsiTarget = null;
        Assert.True(_card.Msi(0));
        Assert.Equal(1, _rig.Bus.DroppedMsiCount);
    }

    [Fact]
    public void Dma_NeedsBusMastering()
    {
        Assert.False(_card.Write(0x1000, [1, 2, 3]));
        Assert.Equal(0, _rig.Memory.ReadByte(new PhysicalAddress(0x1000)));
        Write(0x04, PciConfigurationRegisters.CommandBusMaster, 2);
        Assert.True(_card.Write(0x1000, [1, 2, 3]));
        byte[] back = new byte[3];
        Assert.True(_card.Read(0x1000, back));
        Assert.Equal(new byte[] { 1, 2, 3 }, back);
        Assert.Equal(1, _card.RefusedBusMasterCount);
    }

    [Fact]
    public void StatusErrorBits_AreWriteOneToClear()
    {
        var writable = new WritableStatusCard();
        writable.SetStatus(0xF900);
        writable.WriteConfiguration(0x06, 2, 0x8100);
        Assert.Equal(0x7800u | PciConfigurationRegisters.StatusDevselMedium, writable.ReadConfiguration(0x06, 2));
    }

    [Fact]
    public void Reset_RestoresThePowerOnSpaceAndUnmapsEverything()
    {
        Write(0x04, PciConfigurationRegisters.CommandMemorySpace | PciConfigurationRegisters.CommandIoSpace, 2);
        Write(0x10, 0xE000_0000);
        Write(0x14, 0xC000);
        Write(0x3C, 9, 1);
        int resets = _card.ResetCount;
        _card.Reset();
        Assert.Equal(resets + 1, _card.ResetCount);
        Assert.Equal(0u, Read(0x04, 2));
        Assert.Equal(0u, Read(0x10));
        Assert.Equal(0u, Read(0x3C, 1));
        Assert.False(_rig.Ports.IsRegistered(0xC000));
        Assert.Null(_rig.Memory.FindRegion(new PhysicalAddress(0xE000_0000)));
    }

    [Property(MaxTest = 100)]
    public bool ConfigurationState_RoundTrips_AndRebuildsTheWindows(byte[] program)
    {
        var card = new TestPciCard();
        var rig = new PciTestRig(new RecordingRouter(), (card, Slot, 0));
        for (int i = 0; i + 5 < program.Length; i += 6)
        {
            int register = program[i] & 0xFC;
            uint value = BitConverter.ToUInt32(program, i + 1);
            if ((program[i + 5] & 1) != 0)
            {
                card.Interrupt((program[i + 5] & 2) != 0);
            }
            else
            {
                rig.WriteConfig(Slot, 0, register, 4, value);
            }
        }

        PciConfigurationState saved = card.SaveState();
        var copy = new TestPciCard();
        var copyRig = new PciTestRig(new RecordingRouter(), (copy, Slot, 0));
        copy.RestoreState(saved);
        return copy.SaveState().Equals(saved)
            && card.Bars.Zip(copy.Bars).All(p => p.First.MappedAddress == p.Second.MappedAddress)
            && copy.IsInterruptAsserted == card.IsInterruptAsserted;
    }

    [Fact]
    public void RestoreConfiguration_RefusesBadRecords()
    {
        Assert.Throws<ArgumentException>(() => _card.RestoreState(new PciConfigurationState(2, new byte[256], false)));
        Assert.Throws<ArgumentException>(() => _card.RestoreState(new PciConfigurationState(PciConfigurationState.CurrentVersion, new byte[255], false)));
    }

    [Fact]
    public void Definitions_AreCheckedAtConstruction()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BadCard(c => c.Memory(0, 3000)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BadCard(c => c.Memory(5, 4096, is64Bit: true)));
        Assert.Throws<InvalidOperationException>(() => new BadCard(c =>
        {
            c.Memory(0, 4096, is64Bit: true);
            c.Memory(1, 4096);
        }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BadCard(c => c.Io(0, 512)));
        Assert.Throws<InvalidOperationException>(() => _card.Reattach(_rig.Bus));
    }

    private sealed class RecordingMsiTarget : IMsiTarget
    {
        public List<(ulong Address, uint Data)> Messages { get; } = [];

        public void DeliverMessage(ulong address, uint data, PciFunctionAddress source) => Messages.Add((address, data));
    }

    private sealed class WritableStatusCard() : PciDevice("status card", new PciDeviceIdentity(1, 2, 0))
    {
        public void SetStatus(ushort value)
        {
            Configuration[0x06] = (byte)value;
            Configuration[0x07] = (byte)((value >> 8) | (PciConfigurationRegisters.StatusDevselMedium >> 8));
        }
    }

    private sealed class BadCard : PciDevice
    {
        public BadCard(Action<BadCard> define)
            : base("bad card", new PciDeviceIdentity(1, 2, 0))
        {
            define(this);
        }

        public void Memory(int index, ulong size, bool is64Bit = false) => DefineMemoryBar(index, size, new TestPciCard.RecordingMmio(), is64Bit);

        public void Io(int index, int size) => DefineIoBar(index, size, new TestPciCard.RecordingPorts());
    }
}
