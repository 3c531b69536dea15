namespace Virt.Devices;

/// <summary>A device of the platform: it has a name for messages and a hardware reset.</summary>
public interface IDevice
{
    /// <summary>A short name for messages and logs, for example <c>"COM1"</c>.</summary>
    string Name { get; }

    /// <summary>Puts the device in its power-on state (its datasheet's reset values).</summary>
    void Reset();
}
