using Virt.Devices;
using Virt.Memory;

namespace Virt.Devices.Tests;

/// <summary>A port space with devices registered the way a board does it.</summary>
internal sealed class TestPorts
{
    public IoPortSpace Space { get; } = new(strict: true);

    public TestPorts Add(IPortMappedDevice device)
    {
        foreach (PortBinding binding in device.PortBindings)
        {
            Space.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
        }

        return this;
    }

    public byte In(ushort port) => Space.ReadByte(port);

    public void Out(ushort port, byte value) => Space.WriteByte(port, value);
}
