using Virt.Memory;

namespace Virt.Devices;

/// <summary>One port range a device asks the board to register for it.</summary>
/// <param name="Name">The registration name, for example <c>"COM1"</c> or <c>"PIC master"</c>.</param>
/// <param name="FirstPort">The first port.</param>
/// <param name="Count">The number of consecutive ports.</param>
/// <param name="Device">The port handler; it sees offsets from <paramref name="FirstPort"/>.</param>
public sealed record PortBinding(string Name, ushort FirstPort, int Count, IPortDevice Device);
