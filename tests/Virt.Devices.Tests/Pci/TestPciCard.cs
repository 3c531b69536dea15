using Virt.Memory;

namespace Virt.Devices.Tests.Pci;

/// <summary>A card with every kind of resource: a 4 KiB memory BAR0, an I/O BAR1 of 16 ports, a 64-bit prefetchable BAR2/3 of 8 GiB, a ROM and MSI.</summary>
public sealed class TestPciCard : PciDevice, IStatefulDevice<PciConfigurationState>
{
    public const int MsiCapability = 0x50;

    public TestPciCard(string name = "test card", PciInterruptPin pin = PciInterruptPin.IntA)
        : base(name, new PciDeviceIdentity(0x1234, 0x5678, 0xFF_0000, 7) { SubsystemVendorId = 0xABCD, SubsystemId = 0x0102, InterruptPin = pin })
    {
        Memory = new RecordingMmio();
        PortHandler = new RecordingPorts();
        DefineMemoryBar(0, 4096, Memory);
        DefineIoBar(1, 16, PortHandler);
        DefineMemoryBar(2, 8UL << 30, new RecordingMmio(), is64Bit: true, prefetchable: true);
        DefineExpansionRom([0x55, 0xAA, 0x10]);
        AddMsiCapability(MsiCapability, is64Bit: true, vectorCountLog2: 2);
    }

    public RecordingMmio Memory { get; }

    public RecordingPorts PortHandler { get; }

    public int ResetCount { get; private set; }

    public void Interrupt(bool level) => SetInterruptLevel(level);

    public bool Msi(int vector) => SignalMsi(vector);

    public bool Read(ulong address, Span<byte> buffer) => DmaRead(new PhysicalAddress(address), buffer);

    public bool Write(ulong address, ReadOnlySpan<byte> buffer) => DmaWrite(new PhysicalAddress(address), buffer);

    public void Reattach(PciBus bus) => bus.Attach(this, 9);

    public PciConfigurationState SaveState() => SaveConfiguration();

    public void RestoreState(PciConfigurationState state) => RestoreConfiguration(state);

    protected override void OnReset() => ResetCount++;

    public sealed class RecordingMmio : IMmioDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public uint Register { get; set; }

        public ulong Read(RegionOffset offset, int sizeInBytes) => offset.Value == 0 ? Register : 0xC0DE;

        public void Write(RegionOffset offset, int sizeInBytes, ulong value)
        {
            if (offset.Value == 0)
            {
                Register = (uint)value;
            }
        }
    }

    public sealed class RecordingPorts : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public List<(ushort Offset, uint Value)> Writes { get; } = [];

        public uint Read(ushort offset, int sizeInBytes) => 0x40u + offset;

        public void Write(ushort offset, int sizeInBytes, uint value) => Writes.Add((offset, value));
    }
}
