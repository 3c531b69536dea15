using Virt.Memory;

namespace Virt.Devices.Tests.Dma8237;

/// <summary>The DMA pair's ports as a guest reaches them (its bindings registered on a port space).</summary>
internal sealed class Dma8237TestPorts
{
    private readonly IoPortSpace _ports = new();

    public Dma8237TestPorts(Devices.Dma8237 dma)
    {
        foreach (PortBinding binding in dma.PortBindings)
        {
            _ports.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
        }
    }

    public byte In(ushort port) => (byte)_ports.Read(port, 1);

    public void Out(ushort port, byte value) => _ports.Write(port, 1, value);

    /// <summary>Programs an 8-bit channel (0-3) as a driver does: mask, clear flip-flop, address, count, page, mode, unmask.</summary>
    public void Program8(int channel, uint address, int lengthInBytes, byte mode, bool unmask = true)
    {
        ushort[] pagePorts = [0x87, 0x83, 0x81, 0x82];
        Out(0x0A, (byte)(0x04 | channel));
        Out(0x0C, 0);
        Out((ushort)(channel * 2), (byte)address);
        Out((ushort)(channel * 2), (byte)(address >> 8));
        Out((ushort)((channel * 2) + 1), (byte)(lengthInBytes - 1));
        Out((ushort)((channel * 2) + 1), (byte)((lengthInBytes - 1) >> 8));
        Out(pagePorts[channel], (byte)(address >> 16));
        Out(0x0B, (byte)(mode | channel));
        if (unmask)
        {
            Out(0x0A, (byte)channel);
        }
    }
}
