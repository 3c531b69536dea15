using Virt.Devices;

namespace Virt.Machine;

/// <summary>The drives of a fork: the parent's media as <see cref="Machine.Fork"/> hands them over.</summary>
public sealed partial class MachineBuilder
{
    /// <summary>A copy of this configuration whose drives hold <paramref name="media"/> (by drive id) and get no new overlays.</summary>
    private MachineBuilder WithDriveMedia(DriveMedia media)
    {
        var copy = new MachineBuilder(this) { _diskSnapshot = false };
        for (int i = 0; i < copy._ideDrives.Length; i++)
        {
            if (copy._ideDrives[i] is { } drive && media.TryGet($"ide{i}", out IBlockDevice? medium))
            {
                copy._ideDrives[i] = drive with { Medium = medium };
            }
        }

        for (int i = 0; i < copy._floppyDrives.Length; i++)
        {
            if (copy._floppyDrives[i] is not null && media.TryGet($"fd{i}", out IBlockDevice? medium) && medium is not null)
            {
                copy._floppyDrives[i] = medium;
            }
        }

        return copy;
    }

    /// <summary>The medium of each drive of a fork by drive id (<c>ide0</c>-<c>ide3</c>, <c>fd0</c>, <c>fd1</c>), and the overlays the fork owns.</summary>
    internal sealed class DriveMedia
    {
        private readonly Dictionary<string, IBlockDevice?> _media = new(StringComparer.Ordinal);

        /// <summary>The overlays made for the fork, disposed with it (or when building it fails).</summary>
        public List<object> Owned { get; } = [];

        /// <summary>Sets the medium of a drive.</summary>
        public void Set(string drive, IBlockDevice? medium) => _media[drive] = medium;

        /// <summary>The medium of a drive, if the parent had that drive.</summary>
        public bool TryGet(string drive, out IBlockDevice? medium) => _media.TryGetValue(drive, out medium);
    }
}
