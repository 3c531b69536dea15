using System.Globalization;
using BenchmarkDotNet.Running;

namespace Virt.Benchmarks;

/// <summary>
/// Entry point: <c>mips [scale] [workload]</c> runs the plain console CPU benchmark (its last lines compare the execution
/// tiers), <c>tiers [scale] [workload]</c> only that comparison, <c>qemu [seconds] [workload] [repetitions]</c> the same loops against QEMU TCG (QemuRunner.cs), <c>qemu-image loop iterations file</c> one of its images, <c>tiers-start [rounds]</c> the compiled tier from a cold start
/// (compiling on the run thread or the background thread), <c>memcost [flat-image]</c> the host
/// memory measurements, <c>checkpoints [largest-MiB]</c> the checkpoint and snapshot timings; anything else goes to BenchmarkDotNet's switcher.
/// </summary>
public static class Program
{
    /// <summary>Runs the console CPU benchmark or the benchmarks chosen on the command line (for example <c>--filter *MemoryMap*</c>).</summary>
    /// <param name="args">Arguments.</param>
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "mips")
        {
            MipsRunner.Run(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0, args.Length > 2 ? args[2] : null);
            return;
        }

        if (args.Length > 0 && args[0] == "tiers")
        {
            TierRunner.Run(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0, args.Length > 2 ? args[2] : null);
            return;
        }

        if (args.Length > 0 && args[0] == "qemu")
        {
            QemuRunner.Run(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0, args.Length > 2 ? args[2] : null,
                args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5);
            return;
        }

        if (args.Length > 3 && args[0] == "qemu-image")
        {
            QemuRunner.WriteImage(args[1], uint.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
            return;
        }

        if (args.Length > 0 && args[0] == "tiers-start")
        {
            TierStartRunner.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3);
            return;
        }

        if (args.Length > 0 && args[0] == "memcost")
        {
            Memory.MemoryCostRunner.Run(args.Length > 1 ? args[1] : null);
            return;
        }

        if (args.Length > 0 && args[0] == "checkpoints")
        {
            CheckpointRunner.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : null);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
