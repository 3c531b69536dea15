namespace Virt.Machine.Tests.Architecture;

/// <summary>Keeps the library assemblies referenced so the layering test can load them by name.</summary>
internal static class AssemblyLoadHelper
{
    internal static readonly Type[] Anchors = [typeof(Virt.Memory.PhysicalMemoryMap), typeof(Virt.Devices.IDevice)];
}
