using System.Net;
using Virt.Machine;
using Virt.Machine.Debugging;
using Virt.Run.CommandLine;

namespace Virt.Run;

/// <summary>Runs the machine under the gdb stub (<c>-s</c>, <c>-gdb</c>, <c>-S</c>).</summary>
internal static class GdbRun
{
    /// <summary>Listens on <paramref name="endpoint"/> and runs the machine from the stub on a thread of its own.</summary>
    /// <returns>Why the run ended.</returns>
    /// <exception cref="RunOptionsException">When the endpoint cannot be bound.</exception>
    public static async Task<MachineStopReason> RunAsync(Machine.Machine machine, IPEndPoint endpoint, RunOptions options, CancellationToken cancellationToken)
    {
        GdbStub stub;
        try
        {
            stub = GdbStub.Listen(machine, endpoint);
        }
        catch (InvalidOperationException e)
        {
            throw new RunOptionsException($"-gdb: {e.Message}");
        }

        using (stub)
        {
            // The port is announced so scripts that asked for it can connect (and wait for this line with -S).
            Console.Error.WriteLine($"Virt.Run: gdb stub listening on {stub.LocalEndPoint}{(options.WaitForDebugger ? ", waiting for gdb to attach" : string.Empty)}");
            return await Task.Factory.StartNew(
                () => stub.Run(options.MaxInstructions, options.Timeout, options.WaitForDebugger, cancellationToken),
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }
    }
}
