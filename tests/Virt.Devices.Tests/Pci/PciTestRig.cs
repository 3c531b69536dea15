using Virt.Memory;

namespace Virt.Devices.Tests.Pci;

/// <summary>A bus 0 with real port space and memory map (16 MiB of RAM), driven through CF8h/CFCh as a guest would.</summary>
public sealed class PciTestRig
{
    public const ulong RamSizeInBytes = 16 << 20;

    public PciTestRig(IPciInterruptRouter? router, params (PciDevice Device, int Slot, int Function)[] devices)
    {
        Ports = new IoPortSpace();
        Mapper = new PciWindowMapper(Ports);
        var mapBuilder = new PhysicalMemoryMapBuilder().AddRam("ram", default, RamSizeInBytes);
        var memory = new ForwardingMemory();
        Bus = new PciBus(Mapper, memory, router);
        foreach ((PciDevice device, int slot, int function) in devices)
        {
            Bus.Attach(device, slot, function);
            foreach (PciBar bar in device.Bars.Where(b => b.IsMemory))
            {
                mapBuilder.AddUnmappedMmio(bar.RegionName, bar.SizeInBytes, bar.MmioHandler!);
            }
        }

        foreach (PortBinding binding in Bus.PortBindings)
        {
            Ports.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
        }

        Memory = mapBuilder.Build();
        memory.Target = Memory;
        Mapper.BindMemory(Memory);
        foreach ((PciDevice device, _, _) in devices)
        {
            device.Reset();
        }
    }

    public IoPortSpace Ports { get; }

    public PciWindowMapper Mapper { get; }

    public PciBus Bus { get; }

    public PhysicalMemoryMap Memory { get; }

    public static uint Address(int device, int function, int register, int bus = 0) =>
        PciBus.ConfigAddressEnable | ((uint)bus << 16) | ((uint)device << 11) | ((uint)function << 8) | ((uint)register & 0xFC);

    public uint ReadConfig(int device, int function, int register, int size)
    {
        Ports.WriteDoubleWord(PciBus.ConfigAddressPort, Address(device, function, register));
        return Ports.Read((ushort)(PciBus.ConfigDataPort + (register & 3)), size);
    }

    public void WriteConfig(int device, int function, int register, int size, uint value)
    {
        Ports.WriteDoubleWord(PciBus.ConfigAddressPort, Address(device, function, register));
        Ports.Write((ushort)(PciBus.ConfigDataPort + (register & 3)), size, value);
    }

    private sealed class ForwardingMemory : IGuestMemory
    {
        public PhysicalMemoryMap? Target { get; set; }

        public void Read(PhysicalAddress address, Span<byte> destination) => Target!.Read(address, destination);

        public void Write(PhysicalAddress address, ReadOnlySpan<byte> source) => Target!.Write(address, source);
    }
}
