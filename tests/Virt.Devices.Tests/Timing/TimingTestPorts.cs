using Virt.Devices;
using Virt.Memory;

namespace Virt.Devices.Tests.Timing;

/// <summary>A port space with devices registered the way a board does it.</summary>
internal sealed class TimingTestPorts
{
    public IoPortSpace Space { get; } = new(strict: true);

    public TimingTestPorts Add(IPortMappedDevice device)
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
