using Virt.Machine;
using Virt.Run.CommandLine;

namespace Virt.Run;

/// <summary>The snapshot options of Virt.Run: <c>--restore-snapshot</c> before the run, <c>--save-snapshot</c>/<c>--snapshot-at</c> during it.</summary>
public static class SnapshotRunner
{
    /// <summary>Restores the <c>--restore-snapshot</c> file into <paramref name="machine"/>, if one was given.</summary>
    /// <param name="machine">The machine built from the same options as the one saved.</param>
    /// <param name="options">The options.</param>
    /// <exception cref="RunOptionsException">When the file cannot be read, is not a valid snapshot, or fits another configuration.</exception>
    public static void RestoreIfAsked(Virt.Machine.Machine machine, RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(options);
        if (options.RestoreSnapshotPath is not { } path)
        {
            return;
        }

        try
        {
            using FileStream stream = File.OpenRead(path);
            machine.RestoreSnapshot(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SnapshotFormatException or SnapshotMismatchException)
        {
            throw new RunOptionsException($"--restore-snapshot: '{path}': {e.Message}");
        }
    }

    /// <summary>
    /// Runs the machine as <see cref="Virt.Machine.Machine.RunAsync(long?, TimeSpan?, TimeSpan?, CancellationToken)"/> does with
    /// the options' limits; with <c>--save-snapshot</c>, stops after <c>--snapshot-at</c> instructions, writes the snapshot
    /// and runs on with what is left of the limits.
    /// </summary>
    /// <param name="machine">The machine.</param>
    /// <param name="options">The options.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>Why the run stopped.</returns>
    /// <exception cref="RunOptionsException">When the snapshot file cannot be written.</exception>
    public static async Task<MachineStopReason> RunAsync(Virt.Machine.Machine machine, RunOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(options);
        if (options is not { SaveSnapshotPath: { } path, SnapshotAtInstructions: long at } || at >= options.MaxInstructions)
        {
            return await machine.RunAsync(options.MaxInstructions, options.Timeout, options.MaxGuestTime, cancellationToken);
        }

        // Created before the run, so an unwritable path fails at once rather than after the guest ran.
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Create, FileAccess.Write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunOptionsException($"--save-snapshot: '{path}': {e.Message}");
        }

        await using (file)
        {
            DateTime started = DateTime.UtcNow;
            long guestStart = machine.Clock.NowNanoseconds;
            MachineStopReason stop = await machine.RunAsync(at, options.Timeout, options.MaxGuestTime, cancellationToken);
            if (stop.Kind != MachineStopKind.BudgetExhausted)
            {
                return stop;   // the guest stopped before the snapshot point: nothing to save
            }

            try
            {
                machine.SaveSnapshot(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                throw new RunOptionsException($"--save-snapshot: '{path}': {e.Message}");
            }

            TimeSpan? timeout = options.Timeout - (DateTime.UtcNow - started);
            TimeSpan? guestTime = options.MaxGuestTime - TimeSpan.FromTicks((machine.Clock.NowNanoseconds - guestStart) / 100);
            if (timeout <= TimeSpan.Zero || guestTime <= TimeSpan.Zero)
            {
                return stop;
            }

            return await machine.RunAsync(options.MaxInstructions - at, timeout, guestTime, cancellationToken);
        }
    }
}
