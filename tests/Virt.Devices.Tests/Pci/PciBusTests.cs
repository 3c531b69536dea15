using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Pci;

/// <summary>Configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2) through real ports.</summary>
public sealed class PciBusTests
{
    private readonly TestPciCard _card = new();
    private readonly TestPciCard _second = new("second function");
    private readonly PciTestRig _rig;

    public PciBusTests()
    {
        _rig = new PciTestRig(new RecordingRouter(), (_card, 3, 0), (_second, 3, 2));
    }

    [Fact]
    public void ConfigAddress_KeepsEnableBusDeviceFunctionRegister_ReservedBitsReadZero()
    {
        _rig.Ports.WriteDoubleWord(0xCF8, 0xFFFF_FFFF);
        // 440FX CONFADD: bits 30:24 and 1:0 are reserved and read 0.
        Assert.Equal(0x80FF_FFFCu, _rig.Ports.ReadDoubleWord(0xCF8));
        _rig.Ports.WriteDoubleWord(0xCF8, 0x8000_0000);
        Assert.Equal(0x8000_0000u, _rig.Ports.ReadDoubleWord(0xCF8));
    }

    [Fact]
    public void NonDwordAccessesToCf8_AreNotConfigAddress_AndCf9GoesToResetControl()
    {
        var reset = new ByteRegister();
        _rig.Bus.ResetControlPort = reset;
        _rig.Ports.WriteDoubleWord(0xCF8, 0x8000_1800);
        _rig.Ports.WriteByte(0xCF8, 0x12);
        _rig.Ports.WriteWord(0xCFA, 0x3456);
        Assert.Equal(0x8000_1800u, _rig.Ports.ReadDoubleWord(0xCF8));
        _rig.Ports.WriteByte(0xCF9, 0x06);
        Assert.Equal(0x06, reset.Value);
        Assert.Equal(0x06, _rig.Ports.ReadByte(0xCF9));
        Assert.Equal(0xFF, _rig.Ports.ReadByte(0xCFB));
    }

    [Fact]
    public void ConfigData_ReadsEveryWidthAtEveryOffset()
    {
        // Vendor 1234h, device 5678h at 00:03.0, register 0.
        Assert.Equal(0x5678_1234u, _rig.ReadConfig(3, 0, 0, 4));
        Assert.Equal(0x1234u, _rig.ReadConfig(3, 0, 0, 2));
        Assert.Equal(0x5678u, _rig.ReadConfig(3, 0, 2, 2));
        Assert.Equal(0x34u, _rig.ReadConfig(3, 0, 0, 1));
        Assert.Equal(0x12u, _rig.ReadConfig(3, 0, 1, 1));
        Assert.Equal(0x78u, _rig.ReadConfig(3, 0, 2, 1));
        Assert.Equal(0x56u, _rig.ReadConfig(3, 0, 3, 1));
        // A word at CFDh: bytes 1-2 of the selected dword.
        _rig.Ports.WriteDoubleWord(0xCF8, PciTestRig.Address(3, 0, 0));
        Assert.Equal(0x7812u, _rig.Ports.ReadWord(0xCFD));
        // Class code FF0000h, revision 7.
        Assert.Equal(0xFF00_0007u, _rig.ReadConfig(3, 0, 8, 4));
        Assert.Equal(0x0102_ABCDu, _rig.ReadConfig(3, 0, 0x2C, 4));
    }

    [Fact]
    public void AbsentFunctions_OtherBuses_AndDisabledCycles_ReadAllOnes()
    {
        Assert.Equal(0xFFFF_FFFFu, _rig.ReadConfig(4, 0, 0, 4));
        Assert.Equal(0xFFFFu, _rig.ReadConfig(3, 1, 0, 2));
        Assert.Equal(0xFFu, _rig.ReadConfig(31, 7, 0xFF, 1));
        _rig.Ports.WriteDoubleWord(0xCF8, PciTestRig.Address(3, 0, 0, bus: 1));
        Assert.Equal(0xFFFF_FFFFu, _rig.Ports.ReadDoubleWord(0xCFC));
        _rig.Ports.WriteDoubleWord(0xCF8, PciTestRig.Address(3, 0, 0) & ~PciBus.ConfigAddressEnable);
        Assert.Equal(0xFFFF_FFFFu, _rig.Ports.ReadDoubleWord(0xCFC));
        _rig.Ports.WriteDoubleWord(0xCFC, 0);
        Assert.Equal(0x1234u, _rig.ReadConfig(3, 0, 0, 2));
    }

    [Fact]
    public void WritesThroughDataPort_ReachTheRegister()
    {
        _rig.WriteConfig(3, 0, 0x3C, 1, 0x0B); // interrupt line
        Assert.Equal(0x0Bu, _rig.ReadConfig(3, 0, 0x3C, 1));
        Assert.Equal(0x010Bu, _rig.ReadConfig(3, 0, 0x3C, 2)); // interrupt pin INTA# (read-only)
        _rig.WriteConfig(3, 0, 0x3D, 1, 0x04);
        Assert.Equal(0x01u, _rig.ReadConfig(3, 0, 0x3D, 1));
        _rig.WriteConfig(3, 0, 0, 4, 0xFFFF_FFFF); // identity is read-only
        Assert.Equal(0x5678_1234u, _rig.ReadConfig(3, 0, 0, 4));
    }

    [Fact]
    public void FunctionZeroOfAMultiFunctionDevice_SetsHeaderTypeBit7()
    {
        Assert.Equal(0x80u, _rig.ReadConfig(3, 0, 0x0E, 1));
        Assert.Equal(0x00u, _rig.ReadConfig(3, 2, 0x0E, 1));
        Assert.Equal(0x0080_0000u, _rig.ReadConfig(3, 0, 0x0C, 4) & 0x00FF_0000);
    }

    [Fact]
    public void Attach_RefusesTakenSlotsAndBadNumbers()
    {
        var bus = new PciBus(new PciWindowMapper(new IoPortSpace()), new PhysicalMemoryMapBuilder().AddRam("r", default, 4096).Build());
        bus.Attach(new TestPciCard("a"), 5);
        Assert.Throws<InvalidOperationException>(() => bus.Attach(new TestPciCard("b"), 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => bus.Attach(new TestPciCard("c"), 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => bus.Attach(new TestPciCard("d"), 1, 8));
    }

    [Property(MaxTest = 100)]
    public bool State_RoundTrips(uint address)
    {
        _rig.Ports.WriteDoubleWord(0xCF8, address);
        PciBusState saved = _rig.Bus.SaveState();
        var other = new PciBus(new PciWindowMapper(new IoPortSpace()), _rig.Memory);
        other.RestoreState(saved);
        return other.SaveState() == saved && other.ConfigAddress == (address & 0x80FF_FFFC);
    }

    [Fact]
    public void RestoreState_RefusesReservedBitsAndOtherVersions()
    {
        Assert.Throws<ArgumentException>(() => _rig.Bus.RestoreState(new PciBusState(PciBusState.CurrentVersion, 0x0100_0000)));
        Assert.Throws<ArgumentException>(() => _rig.Bus.RestoreState(new PciBusState(99, 0)));
    }

    private sealed class ByteRegister : IPortDevice
    {
        public byte Value { get; private set; }

        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => Value;

        public void Write(ushort offset, int sizeInBytes, uint value) => Value = (byte)value;
    }
}
