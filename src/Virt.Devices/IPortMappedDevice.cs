namespace Virt.Devices;

/// <summary>
/// A device reached through I/O ports. It lists the ranges it serves (possibly several disjoint
/// ones, such as the keyboard controller's 60h and 64h); the board registers each with the
/// <see cref="Virt.Memory.IoPortSpace"/>. Base ports come from the device's options.
/// </summary>
public interface IPortMappedDevice : IDevice
{
    /// <summary>The port ranges to register.</summary>
    IReadOnlyList<PortBinding> PortBindings { get; }
}
